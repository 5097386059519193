package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// flakyStore fails the first creates with err; when write is set the
// failing creates still happen (a timeout after the commit).
type flakyStore struct {
	store.Store
	fails int
	err   error
	write bool
	calls int
}

func (f *flakyStore) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	f.calls++
	if f.calls <= f.fails {
		if f.write {
			_, _ = f.Store.Create(ctx, obj)
		}
		return nil, f.err
	}
	return f.Store.Create(ctx, obj)
}

func TestCreateRetry(t *testing.T) {
	saved := createBackoff
	createBackoff.first, createBackoff.max = time.Millisecond, 4*time.Millisecond
	t.Cleanup(func() { createBackoff = saved })
	timeout := api.NewInternal(errors.New("etcdserver: request timed out"))
	for _, tc := range []struct {
		name      string
		fails     int
		err       error
		write     bool
		wantErr   bool
		wantCalls int
	}{
		{"ok", 0, nil, false, false, 1},
		{"two timeouts then ok", 2, timeout, false, false, 3},
		{"timeout after the write: AlreadyExists is success", 1, timeout, true, false, 2},
		{"unavailable", 1, api.NewUnavailable("busy"), false, false, 2},
		{"429 (in-flight cap) is retried", 1, &api.StatusError{Status: api.Status{Code: http.StatusTooManyRequests, Reason: "TooManyRequests"}}, false, false, 2},
		{"a broken connection is retried", 1, fmt.Errorf("reach master https://127.0.0.1:1: net/http: HTTP/1.x transport connection broken: %w", syscall.EPIPE), false, false, 2},
		{"a connect that timed out is retried", 1, fmt.Errorf("reach master https://127.0.0.1:1: %w", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}), false, false, 2},
		{"the client's timeout awaiting the answer is retried", 1, fmt.Errorf("reach master https://127.0.0.1:1: %w", &url.Error{Op: "Post", URL: "https://127.0.0.1:1/api/v1beta1/pods", Err: timeoutErr{}}), true, false, 2},
		{"the client's timeout awaiting a connection, as the remote store passes it, is retried", 1, fmt.Errorf("reach master https://127.0.0.1:1: %w", timeoutErr{}), false, false, 2},
		{"refused is not retried", 1, fmt.Errorf("reach master https://127.0.0.1:1: %w", syscall.ECONNREFUSED), false, true, 1},
		{"invalid is not retried", 1, api.NewInvalid("Pod", "p", nil), false, true, 1},
		{"already exists at first is an error", 1, api.NewAlreadyExists("Pod", "p"), false, true, 1},
		{"gives up after 31 attempts", 40, timeout, false, true, 31},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &flakyStore{Store: memory.New(), fails: tc.fails, err: tc.err, write: tc.write}
			err := createRetry(context.Background(), f, benchPod("p", nil))
			if (err != nil) != tc.wantErr || f.calls != tc.wantCalls {
				t.Errorf("err %v after %d calls; want error %v after %d", err, f.calls, tc.wantErr, tc.wantCalls)
			}
		})
	}
}

// timeoutErr is a net.Error that timed out, as a dial's i/o timeout.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestMasterArgs(t *testing.T) {
	if got := (Options{}).masterArgs("scale"); got != nil {
		t.Fatalf("no profiles asked for: want no flag, got %q", got)
	}
	got := Options{MasterProfiles: "/tmp/p"}.masterArgs("tls-plain")
	if len(got) != 1 || got[0] != "--cpuprofile=/tmp/p/master-tls-plain.pprof" {
		t.Fatalf("got %q", got)
	}
}
