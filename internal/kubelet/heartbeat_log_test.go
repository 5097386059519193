package kubelet

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/logging"
	"kubelite/internal/runtime/fake"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// unreachable is a store whose reads of minions fail while down is set, as
// a minion's remote store does when the master is away.
type unreachable struct {
	*memory.Store
	down atomic.Bool
}

func (u *unreachable) Get(ctx context.Context, res api.Resource, ns, name string) (api.Object, error) {
	if res == api.Minions && u.down.Load() {
		return nil, errors.New("dial tcp 192.168.1.200:8080: connect: connection refused")
	}
	return u.Store.Get(ctx, res, ns, name)
}

var _ store.Store = (*unreachable)(nil)

// A minion that cannot reach its master warns once, then with backoff
// ("failing since ... (N times)"), and says when it recovered.
func TestHeartbeatWarnsWithBackoff(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 16, 54, 3, 0, time.UTC))
	st := &unreachable{Store: memory.New()}
	st.down.Store(true)
	l, buf := logging.Capture(t, logging.Text)
	l.SetLevel(logrus.InfoLevel)
	ctx := heartbeating(t, Config{NodeName: "m1", HostIP: "127.0.0.1", Store: st, Clock: clk,
		HeartbeatInterval: time.Second, Log: l.WithField("component", "kubelet")})
	// tick waits for the loop's timer and fires it.
	tick := func() {
		t.Helper()
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clk.Step(1100 * time.Millisecond) // past the interval and its jitter (at most 10%)
	}
	for range 9 {
		tick()
	}
	// The 10th failure has run once the loop waits again; only then may the
	// master come back (set at once after the 10th tick, it raced with that
	// heartbeat, which under load saw it up or down).
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	st.down.Store(false)
	tick() // the recovered heartbeat has been logged once the loop waits again
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	lines := buf.Lines()
	// 10 failures 1.1 s apart (0 to 9.9 s): warned at the first, then at
	// least 1, 2 and 4 s after the one before (1.1, 3.3, 7.7 s); then the
	// minion registers (the memory store had none) and recovers at 11 s.
	want := []string{
		`level=warning msg="heartbeat to the master failed: heartbeat m1: dial tcp 192.168.1.200:8080: connect: connection refused; check: is the master up and reachable from this host? kubelite doctor minion" component=kubelet minion=m1`,
		`level=warning msg="heartbeat to the master failing since 2026-12-04T16:54:03Z (2 times): heartbeat m1: dial tcp`,
		`level=warning msg="heartbeat to the master failing since 2026-12-04T16:54:03Z (4 times): heartbeat m1: dial tcp`,
		`level=warning msg="heartbeat to the master failing since 2026-12-04T16:54:03Z (8 times): heartbeat m1: dial tcp`,
		`level=info msg="minion registered" component=kubelet hostIP=127.0.0.1 minion=m1`,
		`level=info msg="heartbeat to the master recovered after 11s (10 failures)" component=kubelet minion=m1`,
	}
	if len(lines) != len(want) {
		t.Fatalf("lines:\n%s\nwant %d", buf, len(want))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d:\n%s\nwant it to hold\n%s", i, lines[i], w)
		}
	}
}

// A pod whose sync keeps failing is warned with backoff, per pod, and its
// recovery said once; another pod's failures have their own count.
func TestSyncFailuresWarnPerPod(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 16, 54, 3, 0, time.UTC))
	l, buf := logging.Capture(t, logging.Text)
	l.SetLevel(logrus.InfoLevel)
	k, err := New(Config{NodeName: "m1", Store: memory.New(), Runtime: fake.New(fake.Options{}), Clock: clk,
		RootDir: t.TempDir(), Log: l.WithField("component", "kubelet")})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("update status of default/web: connection refused")
	for range 5 { // 0, .5, 1, 1.5, 2 s: warned at 0 and 1 s
		k.syncFailed("default/web", boom)
		clk.Step(500 * time.Millisecond)
	}
	k.syncFailed("default/db", boom)
	k.syncOK("default/web")
	k.syncOK("default/web") // nothing more
	k.syncOK("default/other")
	want := []string{
		`level=warning msg="sync pod default/web failed: update status of default/web: connection refused; check: the pod's events`,
		`level=warning msg="sync pod default/web failing since 2026-12-04T16:54:03Z (3 times): update status`,
		`level=warning msg="sync pod default/db failed: update status`,
		`level=info msg="sync pod default/web recovered after 2.5s (5 failures)" component=kubelet minion=m1 pod=default/web`,
	}
	lines := buf.Lines()
	if len(lines) != len(want) {
		t.Fatalf("lines:\n%s\nwant %d", buf, len(want))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d:\n%s\nwant it to hold\n%s", i, lines[i], w)
		}
	}
	if len(k.failing) != 1 {
		t.Errorf("failing pods %v, want only default/db", k.failing)
	}
}
