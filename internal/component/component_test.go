package component

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu  sync.Mutex
	log []string
}

func (r *recorder) add(s string) { r.mu.Lock(); r.log = append(r.log, s); r.mu.Unlock() }
func (r *recorder) get() string  { r.mu.Lock(); defer r.mu.Unlock(); return strings.Join(r.log, " ") }

func comp(rec *recorder, name string, startErr, runErr error) Component {
	return Func{N: name, F: func(ctx context.Context, started func()) error {
		if startErr != nil {
			rec.add("fail:" + name)
			return startErr
		}
		rec.add("start:" + name)
		started()
		if runErr != nil {
			return runErr
		}
		<-ctx.Done()
		rec.add("stop:" + name)
		return nil
	}}
}

func TestRunnerOrder(t *testing.T) {
	cases := []struct {
		name    string
		comps   func(r *recorder) []Component
		cancel  bool
		wantLog string
		wantErr string
	}{
		{"clean stop reverses", func(r *recorder) []Component {
			return []Component{comp(r, "etcd", nil, nil), comp(r, "api", nil, nil), comp(r, "sched", nil, nil)}
		}, true, "start:etcd start:api start:sched stop:sched stop:api stop:etcd", ""},
		{"start failure stops earlier ones", func(r *recorder) []Component {
			return []Component{comp(r, "etcd", nil, nil), comp(r, "api", errors.New("port 8080 in use"), nil), comp(r, "sched", nil, nil)}
		}, false, "start:etcd fail:api stop:etcd", "start api: port 8080 in use"},
		{"failure while running stops all", func(r *recorder) []Component {
			return []Component{comp(r, "etcd", nil, nil), comp(r, "api", nil, errors.New("boom"))}
		}, false, "start:etcd start:api stop:etcd", "api: boom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := Runner{StopTimeout: 5 * time.Second}
			started := make(chan struct{}, 10)
			r.OnStarted = func(string) { started <- struct{}{} }
			comps := tc.comps(rec)
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx, comps...) }()
			if tc.cancel {
				for range comps {
					<-started
				}
				cancel()
			}
			err := <-done
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if got := rec.get(); got != tc.wantLog {
				t.Fatalf("log %q, want %q", got, tc.wantLog)
			}
		})
	}
}

// A component that says it started and fails at once leaves Run two ready
// cases (started, exited). Either way Run returns the same running failure and
// stops the rest; it once blocked forever when it took the second.
func TestRunnerStartedThenFailedAtOnce(t *testing.T) {
	for i := 0; i < 300; i++ {
		rec := &recorder{}
		r := Runner{StopTimeout: 5 * time.Second}
		done := make(chan error, 1)
		go func() {
			done <- r.Run(context.Background(), comp(rec, "etcd", nil, nil), comp(rec, "api", nil, errors.New("boom")))
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("run %d: Run did not return after api failed", i)
		}
		if err == nil || err.Error() != "api: boom" {
			t.Fatalf("run %d: error %v, want exactly %q", i, err, "api: boom")
		}
		if got, want := rec.get(), "start:etcd start:api stop:etcd"; got != want {
			t.Fatalf("run %d: log %q, want %q", i, got, want)
		}
	}
}

func TestRunnerReturnedBeforeStarted(t *testing.T) {
	rec := &recorder{}
	quiet := Func{N: "api", F: func(context.Context, func()) error { return nil }}
	err := Runner{StopTimeout: 5 * time.Second}.Run(context.Background(), comp(rec, "etcd", nil, nil), quiet, comp(rec, "sched", nil, nil))
	if err == nil || err.Error() != "start api: returned before it started" {
		t.Fatalf("error %v, want %q", err, "start api: returned before it started")
	}
	if got, want := rec.get(), "start:etcd stop:etcd"; got != want {
		t.Fatalf("log %q, want %q", got, want)
	}
}
