package kubelet

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/runtime/fake"
	"kubelite/internal/store/memory"
)

// heartbeating makes a kubelet of cfg (a fake runtime, a temporary root)
// and runs its heartbeat loop until the test ends; it returns the loop's
// context.
func heartbeating(t *testing.T, cfg Config) context.Context {
	t.Helper()
	cfg.Runtime, cfg.RootDir = fake.New(fake.Options{}), t.TempDir()
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); k.heartbeatLoop(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return ctx
}

func TestHeartbeatDelay(t *testing.T) {
	none := func(int64) int64 { return 0 }
	most := func(n int64) int64 { return n - 1 }
	const s = time.Second
	cases := []struct {
		name     string
		interval time.Duration
		failures int
		jitter   func(int64) int64
		want     time.Duration
	}{
		{"landed", 10 * s, 0, none, 10 * s},
		{"landed, most jitter", 10 * s, 0, most, 11 * s},
		{"1 failure", 10 * s, 1, none, 200 * time.Millisecond},
		{"1 failure, most jitter", 10 * s, 1, most, 300 * time.Millisecond},
		{"2 failures", 10 * s, 2, none, 400 * time.Millisecond},
		{"3 failures", 10 * s, 3, none, 800 * time.Millisecond},
		{"6 failures", 10 * s, 6, none, 6400 * time.Millisecond},
		{"6 failures, most jitter", 10 * s, 6, most, 9600 * time.Millisecond},
		{"7 failures: the interval", 10 * s, 7, none, 10 * s},
		{"7 failures, most jitter: a tenth more at most", 10 * s, 7, most, 11 * s},
		{"1000 failures", 10 * s, 1000, none, 10 * s},
		{"interval shorter than the first retry", 100 * time.Millisecond, 1, none, 100 * time.Millisecond},
		{"interval shorter than the first retry, most jitter", 100 * time.Millisecond, 1, most, 110 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := heartbeatDelay(tc.interval, tc.failures, tc.jitter); got != tc.want {
				t.Fatalf("heartbeatDelay(%s, %d) = %s, want %s", tc.interval, tc.failures, got, tc.want)
			}
		})
	}
}

// refusing is a store that refuses every minion request while refuse > 0
// (each refused request counts one down), as a master too busy to commit
// in time answers 503, and signals every heartbeat request it sees.
type refusing struct {
	*memory.Store
	mu     sync.Mutex
	refuse int
	calls  chan struct{}
}

var errBusy = errors.New("503 Service Unavailable: etcd did not commit within 3s")

func (r *refusing) minionCall(res api.Resource) error {
	if res != api.Minions {
		return nil
	}
	r.calls <- struct{}{}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse > 0 {
		r.refuse--
		return errBusy
	}
	return nil
}

func (r *refusing) setRefuse(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refuse = n
}

func (r *refusing) Get(ctx context.Context, res api.Resource, ns, name string) (api.Object, error) {
	if err := r.minionCall(res); err != nil {
		return nil, err
	}
	return r.Store.Get(ctx, res, ns, name)
}

func (r *refusing) Update(ctx context.Context, o api.Object) (api.Object, error) {
	if _, ok := o.(*api.Minion); ok {
		if err := r.minionCall(api.Minions); err != nil {
			return nil, err
		}
	}
	return r.Store.Update(ctx, o)
}

// A heartbeat the master refuses is tried again soon, 200 ms doubling with
// each failure in a row (plus up to half of that), not a whole interval
// later; one that lands waits the interval again, and the next failure
// starts again at 200 ms. A change the master made meanwhile (cordon) is
// kept.
func TestHeartbeatRetriesWithBackoff(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 23, 30, 0, 0, time.UTC))
	st := &refusing{Store: memory.New(), calls: make(chan struct{}, 100)}
	const interval = 10 * time.Second
	ctx := heartbeating(t, Config{NodeName: "m1", HostIP: "127.0.0.1", Store: st, Clock: clk,
		HeartbeatInterval: interval})

	calls := 0
	drain := func() {
		for {
			select {
			case <-st.calls:
				calls++
			default:
				return
			}
		}
	}
	// next waits for the loop's timer, checks it is not due before lo, and
	// fires it at hi; it returns how many requests the heartbeat made.
	next := func(lo, hi time.Duration) int {
		t.Helper()
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
		drain()
		clk.Step(lo - time.Millisecond)
		// A heartbeat that ran would have sent a request before waiting again.
		if clk.Waiters() != 1 || len(st.calls) != 0 {
			t.Fatalf("the next heartbeat was due before %s", lo)
		}
		clk.Step(hi - lo + time.Millisecond)
		// The heartbeat has run once the loop waits again (the timer
		// fired: the loop's next one is a new waiter).
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
		before := calls
		drain()
		if calls == before {
			t.Fatalf("the next heartbeat was not due at %s", hi)
		}
		return calls - before
	}
	stored := func() *api.Minion {
		t.Helper()
		o, err := st.Store.Get(ctx, api.Minions, "", "m1")
		if err != nil {
			t.Fatal(err)
		}
		return o.(*api.Minion)
	}

	// Registered at once (the loop's first heartbeat), then one beat.
	next(interval, interval+interval/10)
	// The master cordons the minion, then refuses 4 requests.
	m := stored()
	m.Unschedulable = true
	if _, err := st.Store.Update(ctx, m); err != nil {
		t.Fatal(err)
	}
	st.setRefuse(4)
	ms := time.Millisecond
	next(interval, interval+interval/10) // refused
	for i, w := range []struct{ lo, hi time.Duration }{
		{200 * ms, 300 * ms}, {400 * ms, 600 * ms}, {800 * ms, 1200 * ms},
	} {
		if n := next(w.lo, w.hi); n != 1 {
			t.Fatalf("retry %d made %d requests, want 1 (refused)", i+1, n)
		}
	}
	// The 4th retry lands (a read, since the last write is unknown, then
	// the write), and the interval is back.
	if n := next(1600*ms, 2400*ms); n != 2 {
		t.Fatalf("the retry that landed made %d requests, want 2 (read, write)", n)
	}
	got := stored()
	if !got.Unschedulable || got.Status.Condition != api.MinionReady || !got.Status.LastHeartbeat.Equal(clk.Now()) {
		t.Fatalf("after the retries: unschedulable %v, %s, heartbeat %v; want true, Ready, %v",
			got.Unschedulable, got.Status.Condition, got.Status.LastHeartbeat, clk.Now())
	}
	if n := next(interval, interval+interval/10); n != 1 {
		t.Fatalf("the beat after recovering made %d requests, want 1 (the write)", n)
	}
	// One more refusal: the backoff starts again at 200 ms.
	st.setRefuse(1)
	next(interval, interval+interval/10)
	if n := next(200*ms, 300*ms); n != 2 {
		t.Fatalf("the retry made %d requests, want 2", n)
	}
}

func TestHeartbeatDeadline(t *testing.T) {
	for _, tt := range []struct{ interval, want time.Duration }{
		{5 * time.Second, 10 * time.Second},
		{100 * time.Millisecond, time.Second},
		{0, time.Second},
	} {
		if got := heartbeatDeadline(tt.interval); got != tt.want {
			t.Errorf("heartbeatDeadline(%s) = %s, want %s", tt.interval, got, tt.want)
		}
	}
}

// hanging is a store whose first minion read never answers: a request on a
// connection that died without a word.
type hanging struct {
	*memory.Store
	once sync.Once
	left chan time.Duration // how long the hung request's deadline gave it
}

func (h *hanging) Get(ctx context.Context, res api.Resource, ns, name string) (api.Object, error) {
	hang := false
	if res == api.Minions {
		h.once.Do(func() { hang = true })
	}
	if hang {
		d, ok := ctx.Deadline()
		if !ok {
			h.left <- -1
			return nil, errors.New("no deadline")
		}
		h.left <- time.Until(d)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return h.Store.Get(ctx, res, ns, name)
}

// A heartbeat that hangs is given up at heartbeatDeadline and tried again
// soon, instead of holding the loop for the client's timeout.
func TestHungHeartbeatIsRetried(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC))
	st := &hanging{Store: memory.New(), left: make(chan time.Duration, 1)}
	const interval = 100 * time.Millisecond // a deadline of 1 s
	ctx := heartbeating(t, Config{NodeName: "m1", HostIP: "127.0.0.1", Store: st, Clock: clk,
		HeartbeatInterval: interval})

	select {
	case left := <-st.left:
		if left <= 0 || left > heartbeatDeadline(interval) {
			t.Fatalf("the heartbeat's deadline left it %s, want at most %s", left, heartbeatDeadline(interval))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no heartbeat")
	}
	// Given up after its deadline (real time), the loop waits for a retry
	// soon (fake time: 200-300 ms after one failure), which registers.
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Step(300 * time.Millisecond)
	if err := clk.BlockUntil(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Store.Get(ctx, api.Minions, "", "m1"); err != nil {
		t.Fatalf("after the retry: %v, want the minion registered", err)
	}
}
