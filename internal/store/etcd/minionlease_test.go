package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/api"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/logging"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
	"kubelite/internal/testutil"
)

// waitFor bounds every wait on a watch or an expiry in these tests.
const waitFor = 15 * time.Second

// changes records Run's changed calls.
type changes struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *changes) record(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[name]++
}

func (c *changes) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[name]
}

// running is a Run of MinionLeases in the background.
type running struct {
	l      *etcdstore.MinionLeases
	ch     *changes
	cancel context.CancelFunc
	done   chan struct{}
}

// startRun runs l.Run until the test ends (or stop).
func startRun(t *testing.T, l *etcdstore.MinionLeases) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{l: l, ch: &changes{}, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); l.Run(ctx, r.ch.record) }()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() { r.cancel(); <-r.done }

// waitLeased waits until Leased(name) is want and changed has been called
// calls times for name.
func (r *running) waitLeased(t *testing.T, name string, want bool, calls int) {
	t.Helper()
	r.waitLeasedWithin(t, waitFor, name, want, calls)
}

func (r *running) waitLeasedWithin(t *testing.T, timeout time.Duration, name string, want bool, calls int) {
	t.Helper()
	testutil.Eventually(t, timeout, func() error {
		if got := r.l.Leased(name); got != want {
			return fmt.Errorf("Leased(%s) = %v", name, got)
		}
		if got := r.ch.count(name); got != calls {
			return fmt.Errorf("changed(%s) called %d times, want %d", name, got, calls)
		}
		return nil
	}, "Leased(%s) = %v after %d changes", name, want, calls)
}

// leaseKV is what etcd holds for a minion's key.
type leaseKV struct {
	exists  bool
	lease   clientv3.LeaseID
	modRev  int64
	value   string
	clusRev int64 // the cluster's revision at the read
}

func readLeaseKey(t *testing.T, cli *clientv3.Client, name string) leaseKV {
	t.Helper()
	resp, err := cli.Get(context.Background(), etcdstore.MinionLeasePrefix+name)
	if err != nil {
		t.Fatal(err)
	}
	out := leaseKV{clusRev: resp.Header.Revision}
	if len(resp.Kvs) > 0 {
		kv := resp.Kvs[0]
		out.exists, out.lease, out.modRev, out.value = true, clientv3.LeaseID(kv.Lease), kv.ModRevision, string(kv.Value)
	}
	return out
}

// leaseCount is how many leases etcd holds.
func leaseCount(t *testing.T, cli *clientv3.Client) int {
	t.Helper()
	resp, err := cli.Leases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.Leases)
}

// leaseIDs are the leases etcd holds.
func leaseIDs(t *testing.T, cli *clientv3.Client) map[clientv3.LeaseID]bool {
	t.Helper()
	resp, err := cli.Leases(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[clientv3.LeaseID]bool{}
	for _, l := range resp.Leases {
		ids[l.ID] = true
	}
	return ids
}

func heartbeat(t *testing.T, l *etcdstore.MinionLeases, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := l.Heartbeat(ctx, name); err != nil {
		t.Fatalf("Heartbeat(%s): %v", name, err)
	}
}

func TestMinionLeaseFirstHeartbeatCreatesKey(t *testing.T) {
	t.Parallel()
	cli := etcdtest.Start(t, "").Client(t)
	cases := []struct {
		ttl  time.Duration
		want int64 // seconds
	}{
		{0, 2},
		{time.Second, 2},
		{1500 * time.Millisecond, 2},
		{2 * time.Second, 2},
		{2001 * time.Millisecond, 3},
		{40 * time.Second, 40},
	}
	for i, tc := range cases {
		t.Run(tc.ttl.String(), func(t *testing.T) {
			name := fmt.Sprintf("m%d", i)
			l := etcdstore.NewMinionLeases(cli, tc.ttl, nil)
			heartbeat(t, l, name)
			kv := readLeaseKey(t, cli, name)
			if !kv.exists || kv.lease == 0 {
				t.Fatalf("key %s%s: %+v, want one attached to a lease", etcdstore.MinionLeasePrefix, name, kv)
			}
			if want := fmt.Sprintf(`{"minion":%q}`, name); kv.value != want {
				t.Errorf("value %s, want %s", kv.value, want)
			}
			ttl, err := cli.TimeToLive(context.Background(), kv.lease, clientv3.WithAttachedKeys())
			if err != nil {
				t.Fatal(err)
			}
			if ttl.GrantedTTL != tc.want || ttl.TTL <= 0 || ttl.TTL > tc.want {
				t.Errorf("lease granted %d s, %d s left; want %d s", ttl.GrantedTTL, ttl.TTL, tc.want)
			}
			if len(ttl.Keys) != 1 || string(ttl.Keys[0]) != etcdstore.MinionLeasePrefix+name {
				t.Errorf("lease holds keys %q, want only %s%s", ttl.Keys, etcdstore.MinionLeasePrefix, name)
			}
		})
	}
}

// TestMinionLeaseRenewals: Run reports a new minion; renewals, by this
// master or another, renew the one lease: no grant, no write (the key's
// ModRevision and the cluster's revision stay), no changed call.
func TestMinionLeaseRenewals(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	l := etcdstore.NewMinionLeases(cli, time.Minute, nil)
	r := startRun(t, l)
	if !l.WaitSynced(context.Background()) {
		t.Fatal("not synced")
	}
	if l.Leased("m1") {
		t.Fatal("m1 leased before its first heartbeat")
	}
	heartbeat(t, l, "m1")
	r.waitLeased(t, "m1", true, 1)
	first := readLeaseKey(t, cli, "m1")

	other := etcdstore.NewMinionLeases(srv.Client(t), time.Minute, nil) // another master
	for _, tc := range []struct {
		name string
		l    *etcdstore.MinionLeases
	}{{"same master", l}, {"same master again", l}, {"other master", other}, {"other master again", other}} {
		heartbeat(t, tc.l, "m1")
		if kv := readLeaseKey(t, cli, "m1"); kv != first {
			t.Errorf("%s: after a renewal %+v, want %+v unchanged", tc.name, kv, first)
		}
		if n := leaseCount(t, cli); n != 1 {
			t.Errorf("%s: %d leases, want 1", tc.name, n)
		}
	}
	// Renewals wrote nothing, so no change can be on its way: the count is
	// final (and another minion's key, written after them, arrives after).
	heartbeat(t, l, "m2")
	r.waitLeased(t, "m2", true, 1)
	if n := r.ch.count("m1"); n != 1 {
		t.Errorf("changed(m1) called %d times, want 1", n)
	}
}

// TestMinionLeaseConcurrentMasters: masters heartbeating a new minion at
// once end up sharing one lease; the losers' grants are revoked.
func TestMinionLeaseConcurrentMasters(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	const masters = 4
	ls := make([]*etcdstore.MinionLeases, masters)
	for i := range ls {
		ls[i] = etcdstore.NewMinionLeases(srv.Client(t), time.Minute, nil)
	}
	for round := range 3 {
		name := fmt.Sprintf("m%d", round)
		start := make(chan struct{})
		errs := make(chan error, masters)
		for _, l := range ls {
			go func() {
				<-start
				errs <- l.Heartbeat(context.Background(), name)
			}()
		}
		close(start)
		for range masters {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if n := leaseCount(t, cli); n != round+1 {
			t.Fatalf("%s: %d leases, want %d (one per minion)", name, n, round+1)
		}
		before := readLeaseKey(t, cli, name)
		for _, l := range ls {
			heartbeat(t, l, name)
		}
		if kv := readLeaseKey(t, cli, name); kv != before || leaseCount(t, cli) != round+1 {
			t.Fatalf("%s: renewals changed %+v to %+v", name, before, kv)
		}
	}
}

// TestMinionLeaseRecovers: a lease or key lost from outside shows in Run,
// and the next heartbeat restores the key.
func TestMinionLeaseRecovers(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	cases := []struct {
		name     string
		lose     func(ctx context.Context, key string, lease clientv3.LeaseID) error
		newLease bool // the key comes back on a new lease (else on the one still alive)
	}{
		{"lease revoked", func(ctx context.Context, _ string, lease clientv3.LeaseID) error {
			_, err := cli.Revoke(ctx, lease)
			return err
		}, true},
		{"key deleted", func(ctx context.Context, key string, _ clientv3.LeaseID) error {
			_, err := cli.Delete(ctx, key)
			return err
		}, false},
		{"key written without a lease", func(ctx context.Context, key string, _ clientv3.LeaseID) error {
			_, err := cli.Put(ctx, key, `{"minion":"by hand"}`)
			return err
		}, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("m%d", i)
			l := etcdstore.NewMinionLeases(cli, time.Minute, nil)
			r := startRun(t, l)
			heartbeat(t, l, name)
			r.waitLeased(t, name, true, 1)
			before := readLeaseKey(t, cli, name)
			if err := tc.lose(context.Background(), etcdstore.MinionLeasePrefix+name, before.lease); err != nil {
				t.Fatal(err)
			}
			r.waitLeased(t, name, false, 2)
			heartbeat(t, l, name)
			r.waitLeased(t, name, true, 3)
			after := readLeaseKey(t, cli, name)
			if tc.newLease == (after.lease == before.lease) {
				t.Errorf("lease %x after, %x before: want a new one %v", after.lease, before.lease, tc.newLease)
			}
			ttl, err := cli.TimeToLive(context.Background(), after.lease)
			if err != nil || ttl.TTL <= 0 {
				t.Errorf("the key's lease %x: %+v, %v; want a live one", after.lease, ttl, err)
			}
			if want := fmt.Sprintf(`{"minion":%q}`, name); after.value != want {
				t.Errorf("value %s, want %s", after.value, want)
			}
			// Renewed from now on, without a write.
			heartbeat(t, l, name)
			if kv := readLeaseKey(t, cli, name); kv.modRev != after.modRev || kv.lease != after.lease {
				t.Errorf("renewal after recovery: %+v, want %+v", kv, after)
			}
		})
	}
}

// TestMinionLeaseRecoversWithoutRun: on a master where Run does not run
// (the node controller runs on another), a key deleted or written by hand
// is put back on the live lease within a lease time.
func TestMinionLeaseRecoversWithoutRun(t *testing.T) {
	t.Parallel()
	cli := etcdtest.Start(t, "").Client(t)
	const ttl = 2 * time.Second
	cases := []struct {
		name string
		lose func(ctx context.Context, key string) error
	}{
		{"key deleted", func(ctx context.Context, key string) error { _, err := cli.Delete(ctx, key); return err }},
		{"key written without a lease", func(ctx context.Context, key string) error {
			_, err := cli.Put(ctx, key, `{"minion":"by hand"}`)
			return err
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("m%d", i)
			l := etcdstore.NewMinionLeases(cli, ttl, nil)
			heartbeat(t, l, name)
			before := readLeaseKey(t, cli, name)
			leases := leaseIDs(t, cli)
			if err := tc.lose(context.Background(), etcdstore.MinionLeasePrefix+name); err != nil {
				t.Fatal(err)
			}
			// The kubelet heartbeats on (here as often as Eventually polls).
			testutil.Eventually(t, ttl+5*time.Second, func() error {
				heartbeat(t, l, name)
				if kv := readLeaseKey(t, cli, name); !kv.exists || kv.lease != before.lease {
					return fmt.Errorf("key %+v, want one on lease %x", kv, before.lease)
				}
				return nil
			}, "the key back on its lease")
			for id := range leaseIDs(t, cli) {
				if !leases[id] {
					t.Errorf("lease %x granted, want none", id)
				}
			}
		})
	}
}

// TestMinionLeaseExpires: a minion that stops heartbeating loses its key
// after the TTL (2 s, etcd's shortest), while one that keeps heartbeating
// keeps its lease and sees no change.
func TestMinionLeaseExpires(t *testing.T) {
	t.Parallel()
	cli := etcdtest.Start(t, "").Client(t)
	const ttl = 2 * time.Second
	l := etcdstore.NewMinionLeases(cli, ttl, nil)
	r := startRun(t, l)
	heartbeat(t, l, "live")
	live := readLeaseKey(t, cli, "live")
	ctx, cancel := context.WithCancel(context.Background())
	beating := make(chan error, 1)
	go func() { // the live minion's kubelet, every quarter of the TTL
		tick := time.NewTicker(ttl / 4)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				beating <- nil
				return
			case <-tick.C:
				if err := l.Heartbeat(ctx, "live"); err != nil && ctx.Err() == nil {
					beating <- err
					return
				}
			}
		}
	}()
	defer func() {
		cancel()
		if err := <-beating; err != nil {
			t.Errorf("live minion's heartbeat: %v", err)
		}
	}()
	last := time.Now()
	heartbeat(t, l, "silent")
	r.waitLeased(t, "silent", true, 1)
	r.waitLeasedWithin(t, ttl+5*time.Second, "silent", false, 2)
	if gone := time.Since(last); gone < ttl {
		t.Errorf("the silent minion's key went %s after its heartbeat, before the TTL %s", gone, ttl)
	}
	if kv := readLeaseKey(t, cli, "silent"); kv.exists {
		t.Errorf("the silent minion's key is still there: %+v", kv)
	}
	if !l.Leased("live") || r.ch.count("live") != 1 {
		t.Errorf("live minion: Leased %v, changed %d times; want true, 1", l.Leased("live"), r.ch.count("live"))
	}
	if kv := readLeaseKey(t, cli, "live"); kv.lease != live.lease || kv.modRev != live.modRev {
		t.Errorf("live minion's key %+v, want %+v", kv, live)
	}
}

// TestMinionLeaseRunAfterKeys: a Run started after keys exist reports them
// by the time it is synced.
func TestMinionLeaseRunAfterKeys(t *testing.T) {
	t.Parallel()
	cli := etcdtest.Start(t, "").Client(t)
	l := etcdstore.NewMinionLeases(cli, time.Minute, nil)
	names := []string{"a", "b", "c"}
	for _, n := range names {
		heartbeat(t, l, n)
	}
	if l.Synced() || l.Leased("a") {
		t.Fatalf("before Run: Synced %v, Leased(a) %v; want false, false", l.Synced(), l.Leased("a"))
	}
	r := startRun(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if !l.WaitSynced(ctx) || !l.Synced() {
		t.Fatal("Run did not sync")
	}
	for _, n := range names {
		if !l.Leased(n) || r.ch.count(n) != 1 {
			t.Errorf("%s: Leased %v, changed %d times; want true, 1", n, l.Leased(n), r.ch.count(n))
		}
	}
	if l.Leased("x") || r.ch.count("x") != 0 {
		t.Error("x leased without a key")
	}
	r.stop()
	if l.Synced() || l.Leased("a") {
		t.Errorf("after Run: Synced %v, Leased(a) %v; want false, false", l.Synced(), l.Leased("a"))
	}
}

// TestMinionLeaseSecondRun: a Run while one runs does nothing (the first
// keeps its set) and returns when its ctx ends.
func TestMinionLeaseSecondRun(t *testing.T) {
	t.Parallel()
	cli := etcdtest.Start(t, "").Client(t)
	l := etcdstore.NewMinionLeases(cli, time.Minute, nil)
	r := startRun(t, l)
	heartbeat(t, l, "m")
	r.waitLeased(t, "m", true, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var second changes
	go func() { defer close(done); l.Run(ctx, second.record) }()
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the second Run did not return within 2s of its ctx's end")
	}
	if !l.Leased("m") || !l.Synced() || second.count("m") != 0 {
		t.Errorf("after a second Run: Leased %v, Synced %v, its changes %d; want true, true, 0", l.Leased("m"), l.Synced(), second.count("m"))
	}
	heartbeat(t, l, "n") // the first Run still watches
	r.waitLeased(t, "n", true, 1)
}

// TestMinionLeaseKeysAreNoObjects: the lease keys under /registry/ are
// nothing to the store's minions (no object, no undecodable value).
func TestMinionLeaseKeysAreNoObjects(t *testing.T) {
	t.Parallel()
	cli := etcdtest.Start(t, "").Client(t)
	logger, logs := logging.Capture(t, logging.Text)
	s := etcdstore.New(cli).WithLog(logger.WithField("component", "store"))
	ctx := context.Background()
	if _, err := s.Create(ctx, &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}}); err != nil {
		t.Fatal(err)
	}
	l := etcdstore.NewMinionLeases(cli, time.Minute, logger.WithField("component", "minion-leases"))
	heartbeat(t, l, "m1")
	heartbeat(t, l, "m2")
	minions, _, err := s.List(ctx, api.Minions, store.ListOptions{})
	if err != nil || len(minions) != 1 || minions[0].Meta().ID != "m1" {
		t.Errorf("List(minions) = %v, %v; want m1 only", minions, err)
	}
	if n, err := s.Count(ctx, api.Minions, ""); err != nil || n != 1 {
		t.Errorf("Count(minions) = %d, %v; want 1", n, err)
	}
	if _, err := s.Get(ctx, api.Minions, "", "m2"); !api.IsNotFound(err) {
		t.Errorf("Get(minion m2) = %v, want NotFound", err)
	}
	if strings.Contains(logs.String(), "decode") {
		t.Errorf("logged:\n%s", logs)
	}
}

// breakableWatcher is the client's Watcher, whose current watch the test
// can pause (its events are dropped, as a watch that fell behind) and then
// break, with a response or by closing it.
type breakableWatcher struct {
	clientv3.Watcher
	mu      sync.Mutex
	watches int
	paused  bool
	kill    chan *clientv3.WatchResponse
}

func (w *breakableWatcher) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	in := w.Watcher.Watch(ctx, key, opts...)
	out := make(chan clientv3.WatchResponse)
	kill := make(chan *clientv3.WatchResponse, 1)
	w.mu.Lock()
	w.watches++
	w.paused = false
	w.kill = kill
	w.mu.Unlock()
	go func() {
		defer close(out)
		for {
			select {
			case resp, ok := <-in:
				if !ok {
					return
				}
				w.mu.Lock()
				paused := w.paused
				w.mu.Unlock()
				if paused {
					continue
				}
				select {
				case out <- resp:
				case <-ctx.Done():
					return
				}
			case resp := <-kill:
				if resp != nil {
					select {
					case out <- *resp:
					case <-ctx.Done():
					}
				}
				return
			}
		}
	}()
	return out
}

func (w *breakableWatcher) pause() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paused = true
}

func (w *breakableWatcher) breakWith(resp *clientv3.WatchResponse) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.kill <- resp
}

func (w *breakableWatcher) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.watches
}

// TestMinionLeaseRelist: after a broken or compacted watch Run lists again
// and reports every difference with the set it had.
func TestMinionLeaseRelist(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	admin := srv.Client(t)
	cases := []struct {
		name string
		resp *clientv3.WatchResponse // nil: the channel closes
	}{
		{"compacted", &clientv3.WatchResponse{CompactRevision: 1, Canceled: true}},
		{"closed", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cli := srv.Client(t)
			w := &breakableWatcher{Watcher: cli.Watcher}
			cli.Watcher = w
			l := etcdstore.NewMinionLeases(cli, time.Minute, nil)
			r := startRun(t, l)
			stays, goes, comes := tc.name+"-stays", tc.name+"-goes", tc.name+"-comes"
			heartbeat(t, l, stays)
			heartbeat(t, l, goes)
			r.waitLeased(t, stays, true, 1)
			r.waitLeased(t, goes, true, 1)

			w.pause() // what happens now, this watch does not deliver
			if _, err := admin.Revoke(context.Background(), readLeaseKey(t, admin, goes).lease); err != nil {
				t.Fatal(err)
			}
			heartbeat(t, l, comes)
			if l.Leased(comes) || !l.Leased(goes) {
				t.Fatal("the paused watch delivered")
			}
			w.breakWith(tc.resp)

			r.waitLeased(t, goes, false, 2)
			r.waitLeased(t, comes, true, 1)
			r.waitLeased(t, stays, true, 1)
			// The list's changes are reported before the next watch starts.
			testutil.Eventually(t, waitFor, func() bool { return w.count() == 2 }, "a second watch")
			// The new watch delivers.
			if _, err := admin.Revoke(context.Background(), readLeaseKey(t, admin, comes).lease); err != nil {
				t.Fatal(err)
			}
			r.waitLeased(t, comes, false, 2)
		})
	}
}

// TestMinionLeaseRunStops: Run returns promptly when ctx ends, watching or
// retrying an etcd that does not answer.
func TestMinionLeaseRunStops(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		etcdDown bool
	}{
		{"watching", false},
		{"etcd down", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := etcdtest.Start(t, "")
			cli := srv.Client(t)
			l := etcdstore.NewMinionLeases(cli, time.Minute, nil)
			heartbeat(t, l, "m")
			if tc.etcdDown {
				srv.Stop()
			}
			r := startRun(t, l)
			if !tc.etcdDown {
				r.waitLeased(t, "m", true, 1)
			}
			r.cancel()
			select {
			case <-r.done:
			case <-time.After(2 * time.Second):
				t.Fatal("Run did not return within 2s of its ctx's end")
			}
		})
	}
}

// TestMinionLeaseHeartbeatErrors: a heartbeat that cannot be recorded
// fails promptly, naming the minion.
func TestMinionLeaseHeartbeatErrors(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	l := etcdstore.NewMinionLeases(cli, time.Minute, nil)
	heartbeat(t, l, "known")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	down := etcdtest.Start(t, "")
	downLeases := etcdstore.NewMinionLeases(down.Client(t), time.Minute, nil)
	heartbeat(t, downLeases, "known")
	down.Stop()
	cases := []struct {
		name     string
		l        *etcdstore.MinionLeases
		ctx      context.Context
		minion   string
		timeout  time.Duration // for ctx nil
		wantCode int
	}{
		{"cancelled, new minion", l, cancelled, "new", 0, http.StatusServiceUnavailable},
		{"cancelled, known lease", l, cancelled, "known", 0, http.StatusServiceUnavailable},
		{"etcd down, new minion", downLeases, nil, "new", 300 * time.Millisecond, http.StatusServiceUnavailable},
		{"etcd down, known lease", downLeases, nil, "known", 300 * time.Millisecond, http.StatusServiceUnavailable},
		{"empty name", l, context.Background(), "", 0, http.StatusBadRequest},
		{"name with a slash", l, context.Background(), "a/b", 0, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(context.Background(), tc.timeout)
				defer cancel()
			}
			start := time.Now()
			err := tc.l.Heartbeat(ctx, tc.minion)
			if took := time.Since(start); took > tc.timeout+2*time.Second {
				t.Errorf("Heartbeat took %s", took)
			}
			if err == nil {
				t.Fatal("Heartbeat succeeded")
			}
			if !strings.HasPrefix(err.Error(), "heartbeat minion "+tc.minion+": ") {
				t.Errorf("error %q does not name the minion", err)
			}
			var se *api.StatusError
			if !errors.As(err, &se) || se.Status.Code != tc.wantCode {
				t.Errorf("error %q: want a StatusError %d", err, tc.wantCode)
			}
		})
	}
	if kv := readLeaseKey(t, cli, "new"); kv.exists {
		t.Errorf("a failed heartbeat created %+v", kv)
	}
	// A heartbeat that reached the master is heard, renewed or not: the
	// minion is alive when only etcd failed. A bad name is no heartbeat.
	for _, c := range []struct {
		l      *etcdstore.MinionLeases
		minion string
		heard  bool
	}{{l, "new", true}, {l, "known", true}, {downLeases, "new", true}, {downLeases, "known", true}, {l, "", false}, {l, "a/b", false}, {l, "never", false}} {
		if h := c.l.Heard(c.minion); h.IsZero() == c.heard || (c.heard && time.Since(h) > time.Minute) {
			t.Errorf("Heard(%q) = %v, want heard %v (just now)", c.minion, h, c.heard)
		}
	}
	// Failures in etcd are noted (the node controller then waits for a
	// grace period of health); a bad name is the caller's, not etcd's.
	for _, l := range []*etcdstore.MinionLeases{l, downLeases} {
		if f := l.HeartbeatsLost(); f.IsZero() || time.Since(f) > time.Minute {
			t.Errorf("HeartbeatsLost = %v after heartbeats failed in etcd, want just now", f)
		}
	}
	fresh := etcdstore.NewMinionLeases(cli, time.Minute, nil)
	if err := fresh.Heartbeat(context.Background(), "a/b"); err == nil {
		t.Fatal("a bad name heartbeat succeeded")
	}
	heartbeat(t, fresh, "fine")
	if f := fresh.HeartbeatsLost(); !f.IsZero() {
		t.Errorf("HeartbeatsLost = %v after a bad name and a renewal, want zero", f)
	}
	// A heartbeat the listener refused unheard is lost too.
	at := time.Now().Add(time.Hour)
	fresh.HeartbeatRefused(at)
	fresh.HeartbeatRefused(at.Add(-time.Minute)) // an older one moves nothing
	if f := fresh.HeartbeatsLost(); !f.Equal(at) {
		t.Errorf("HeartbeatsLost = %v after a refusal at %v", f, at)
	}
}

// TestMinionLeaseHeardForgets: Heard forgets minions silent for 20 lease
// times once the map has doubled, and keeps the rest.
func TestMinionLeaseHeardForgets(t *testing.T) {
	l := etcdstore.NewMinionLeases(nil, time.Minute, nil)
	now := time.Now()
	for i := range 100 {
		etcdstore.HearAt(l, fmt.Sprintf("old-%d", i), now.Add(-21*time.Minute))
	}
	etcdstore.HearAt(l, "quiet", now.Add(-19*time.Minute))
	for i := range 28 { // 129 entries: past twice the first 64, pruned
		etcdstore.HearAt(l, fmt.Sprintf("new-%d", i), now)
	}
	for i := range 100 {
		if h := l.Heard(fmt.Sprintf("old-%d", i)); !h.IsZero() {
			t.Fatalf("old-%d silent for 21 lease times still heard at %v", i, h)
		}
	}
	if l.Heard("quiet").IsZero() {
		t.Fatal("a minion silent for 19 lease times forgotten")
	}
	for i := range 28 {
		if h := l.Heard(fmt.Sprintf("new-%d", i)); !h.Equal(now) {
			t.Fatalf("Heard(new-%d) = %v, want %v", i, h, now)
		}
	}
}

// BenchmarkMinionLeaseHeartbeat: renewals of an existing lease (Heartbeat
// of a known minion: one KeepAliveOnce), and for comparison a Put of a
// 600-byte value (what a heartbeat cost as a write of the minion, without
// its compare), on one etcd with fsync on (as a master runs), through a
// network client (gRPC over loopback) and the in-process client of the
// master's own embedded etcd; cpu-us/op is the whole process's CPU per
// operation (client and etcd):
//
//	go test -run '^$' -bench MinionLeaseHeartbeat -count 5 ./internal/store/etcd/
func BenchmarkMinionLeaseHeartbeat(b *testing.B) {
	srv := etcdtest.StartDurable(b, "")
	clients := []struct {
		name string
		cli  *clientv3.Client
	}{{"network", srv.Client(b)}, {"local", srv.LocalClient(b)}}
	value := strings.Repeat("x", 600)
	ctx := context.Background()
	for _, c := range clients {
		b.Run(c.name+"/renew", func(b *testing.B) {
			l := etcdstore.NewMinionLeases(c.cli, 40*time.Second, nil)
			if err := l.Heartbeat(ctx, "bench-"+c.name); err != nil {
				b.Fatal(err)
			}
			benchOps(b, func() error { return l.Heartbeat(ctx, "bench-"+c.name) })
		})
		b.Run(c.name+"/put-600B", func(b *testing.B) {
			key := "/bench/put-" + c.name
			benchOps(b, func() error { _, err := c.cli.Put(ctx, key, value); return err })
		})
	}
}

func benchOps(b *testing.B, op func() error) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuNow()
	for range b.N {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuNow()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
}
