package registry

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// stuck is a store whose writes never commit (etcd without quorum): they
// return only when their ctx ends.
type stuck struct {
	store.Store
	err error // returned at once instead, when set
}

func (s stuck) Create(ctx context.Context, _ api.Object) (api.Object, error) {
	if s.err != nil {
		return nil, s.err
	}
	<-ctx.Done()
	return nil, api.NewUnavailable("etcd create: " + ctx.Err().Error())
}

func TestBoundedWrites(t *testing.T) {
	diag := func(context.Context) string { return "etcd quorum lost: test" }
	cases := []struct {
		name     string
		st       stuck
		diagnose func(context.Context) string
		cancel   bool // the caller gives up first
		code     int
		contains string
	}{
		{"never commits: 503 naming the cause", stuck{}, diag, false, http.StatusServiceUnavailable, "not done within 50ms: etcd quorum lost: test"},
		{"never commits, no diagnosis", stuck{}, nil, false, http.StatusServiceUnavailable, "the store did not answer"},
		{"refused as unavailable: 503 naming the cause", stuck{err: api.NewUnavailable("etcdserver: no leader")}, diag, false, http.StatusServiceUnavailable, "write x: etcd quorum lost: test"},
		{"a conflict stays a conflict", stuck{err: api.NewConflict("Pod", "x", "stale")}, diag, false, http.StatusConflict, "stale"},
		{"the caller's cancel is not rewritten", stuck{}, diag, true, http.StatusServiceUnavailable, "context canceled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.st.Store = memory.New()
			b := bounded{Store: tc.st, timeout: 50 * time.Millisecond, diagnose: tc.diagnose}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			start := time.Now()
			_, err := b.Create(ctx, &api.Pod{TypeMeta: api.TypeMeta{ID: "x"}})
			if took := time.Since(start); took > 2*time.Second {
				t.Fatalf("took %s", took)
			}
			st := api.StatusOf(err)
			if st.Code != tc.code || !strings.Contains(st.Message, tc.contains) {
				t.Fatalf("got %d %q, want %d containing %q", st.Code, st.Message, tc.code, tc.contains)
			}
		})
	}
}
