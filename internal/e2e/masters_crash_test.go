//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/lab"
)

// The durability crash test (issue 13, item 5): 16 writers create objects
// through the API of all three masters while masters are killed with
// SIGKILL, round after round (KUBELITE_E2E_CRASH_ROUNDS, default 3; the
// issue's full run is 20), then all three at once. Every object whose
// create got a 2xx must be there afterwards. The objects are replication
// controllers of 0 replicas (a create is a real write through the
// registry and etcd, and makes no pod, no portal IP and no proxy rule).

const crashWriters = 16

// write is one create as a writer saw it.
type write struct {
	id         string
	start, end time.Time
	ok         bool
}

// writers run until stopped, each creating one object after another on
// the masters in turn (the next master after a failure).
type writers struct {
	mu     sync.Mutex
	writes []write
	stop   chan struct{}
	wg     sync.WaitGroup
}

func (c *tri) startWriters(ctx context.Context) *writers {
	w := &writers{stop: make(chan struct{})}
	ms := c.lab.Masters()
	for n := range crashWriters {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-w.stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				id := fmt.Sprintf("crash-w%02d-%05d", n, i)
				h := ms[(n+i)%len(ms)]
				obj := rcObject(id, 0, "kubelite/webserver:v1", 0)
				st := time.Now()
				rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				code, _, err := c.do(rctx, h, http.MethodPost, nsPath("replicationControllers", ""), obj)
				cancel()
				wr := write{id: id, start: st, end: time.Now(), ok: err == nil && code >= 200 && code < 300}
				w.mu.Lock()
				w.writes = append(w.writes, wr)
				w.mu.Unlock()
				if !wr.ok {
					// Refused or dead: do not spin on a master that is down.
					select {
					case <-w.stop:
						return
					case <-time.After(50 * time.Millisecond):
					}
				}
			}
		}()
	}
	return w
}

// firstOKAfter returns when the first write started after t succeeded.
func (w *writers) firstOKAfter(t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first time.Time
	for _, wr := range w.writes {
		if wr.ok && wr.start.After(t) && (first.IsZero() || wr.end.Before(first)) {
			first = wr.end
		}
	}
	return first, !first.IsZero()
}

func (w *writers) halt() []write {
	close(w.stop)
	w.wg.Wait()
	return w.writes
}

// gapAround is the longest interval without a successful write (by
// completion time) from the last completion before t to the completion of
// the first successful write sent after t: writes committed before a kill
// may still complete just after it, and the stall comes after them.
func gapAround(writes []write, t time.Time) time.Duration {
	var ends []time.Time
	var resumed time.Time
	for _, wr := range writes {
		if !wr.ok {
			continue
		}
		ends = append(ends, wr.end)
		if wr.start.After(t) && (resumed.IsZero() || wr.end.Before(resumed)) {
			resumed = wr.end
		}
	}
	if resumed.IsZero() {
		return 0
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].Before(ends[j]) })
	var gap time.Duration
	for i := 1; i < len(ends); i++ {
		if ends[i].After(t) && ends[i-1].Before(resumed) {
			gap = max(gap, ends[i].Sub(ends[i-1]))
		}
	}
	return gap
}

func TestGapAround(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	w := func(start, end float64, ok bool) write { return write{start: at(start), end: at(end), ok: ok} }
	for _, tc := range []struct {
		name   string
		writes []write
		kill   float64
		want   time.Duration
	}{
		{"steady", []write{w(0, 0.1, true), w(0.1, 0.2, true), w(0.2, 0.3, true), w(0.3, 0.4, true)}, 0.15, 100 * time.Millisecond},
		{"a stall after writes committed before the kill",
			[]write{w(0, 0.9, true), w(0.5, 1.02, true), w(1.1, 1.2, false), w(1.0, 2.5, true), w(1.3, 2.6, true), w(3, 3.1, true)}, 1.0,
			1480 * time.Millisecond},
		{"no write after the kill", []write{w(0, 0.5, true), w(1.5, 2, false)}, 1, 0},
	} {
		if got := gapAround(tc.writes, at(tc.kill)); got != tc.want {
			t.Errorf("%s: gap %s, want %s", tc.name, got, tc.want)
		}
	}
}

func crashRounds() int {
	if n, err := strconv.Atoi(os.Getenv(crashRoundsEnv)); err == nil && n >= 0 {
		return n
	}
	return 3
}

func (c *tri) stepCrash(ctx context.Context) {
	rounds := crashRounds()
	w := c.startWriters(ctx)
	defer func() {
		select {
		case <-w.stop:
		default:
			w.halt()
		}
	}()
	wait := func(d time.Duration) {
		select {
		case <-ctx.Done():
			c.t.Fatal(ctx.Err())
		case <-time.After(d):
		}
	}
	wait(2 * time.Second)
	type kill struct {
		at      time.Time
		what    string
		resumed time.Duration // kill to the first successful write started after it
	}
	var kills []kill
	resumed := func(k *kill) {
		first, ok := time.Time{}, false
		err := poll(ctx, 60*time.Second, func() (bool, string) {
			first, ok = w.firstOKAfter(k.at)
			return ok, "no successful write since the kill"
		})
		if err != nil {
			c.t.Fatalf("after %s: %v", k.what, err)
		}
		k.resumed = first.Sub(k.at)
	}
	for r := 1; r <= rounds; r++ {
		// Odd rounds kill etcd's leader, even rounds the master leading the
		// controllers (often the same master).
		var victim *lab.Host
		err := poll(ctx, 30*time.Second, func() (bool, string) {
			for _, h := range c.lab.Masters() {
				m, err := c.members(ctx, h)
				if err != nil {
					continue
				}
				victim = m.etcdLead
				if r%2 == 0 {
					victim = c.hostByName(m.leader)
				}
				return victim != nil, m.raw
			}
			return false, "no master answers etcd members"
		})
		if err != nil {
			c.t.Fatalf("round %d: the leader: %v", r, err)
		}
		what := "etcd leader"
		if r%2 == 0 {
			what = "controllers' leader"
		}
		k := kill{at: time.Now(), what: fmt.Sprintf("round %d: kill -9 %s (%s)", r, victim.Name, what)}
		if err := c.master(victim).Kill(); err != nil {
			c.t.Fatal(err)
		}
		resumed(&k)
		kills = append(kills, k)
		c.logf("%s: writes resumed after %.2fs", k.what, k.resumed.Seconds())
		if err := c.master(victim).Restart(); err != nil {
			c.t.Fatal(err)
		}
		c.waitMaster(ctx, victim, time.Minute)
		c.waitMembers(ctx, victim, 3, 60*time.Second)
	}
	// All three at once.
	var wg sync.WaitGroup
	for _, h := range c.lab.Masters() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.master(h).Kill(); err != nil {
				c.t.Error(err)
			}
		}()
	}
	wg.Wait()
	k := kill{at: time.Now(), what: "kill -9 all three masters at once"}
	for _, h := range c.lab.Masters() {
		if err := c.master(h).Restart(); err != nil {
			c.t.Fatal(err)
		}
	}
	resumed(&k)
	kills = append(kills, k)
	c.logf("%s: writes resumed after %.2fs", k.what, k.resumed.Seconds())
	for _, h := range c.lab.Masters() {
		c.waitMaster(ctx, h, time.Minute)
	}
	c.waitMembers(ctx, c.lab.MasterN(1), 3, 60*time.Second)
	wait(time.Second)
	writes := w.halt()

	// Every acknowledged write is there.
	var l api.ReplicationControllerList
	if err := poll(ctx, 30*time.Second, func() (bool, string) {
		err := c.list(ctx, c.lab.MasterN(1), "replicationControllers", nil, &l)
		return err == nil, fmt.Sprint(err)
	}); err != nil {
		c.t.Fatal(err)
	}
	have := map[string]bool{}
	for _, rc := range l.Items {
		have[rc.ID] = true
	}
	acked, failed, lost := 0, 0, 0
	var lostIDs []string
	for _, wr := range writes {
		if !wr.ok {
			failed++
			continue
		}
		acked++
		if !have[wr.id] {
			lost++
			lostIDs = append(lostIDs, wr.id)
		}
	}
	// The gap: the longest time with no successful write on any master,
	// around each kill; and the time from the kill to the first successful
	// write sent after it. By the kind of leader killed.
	var gaps, resumes [2][]time.Duration // etcd's leader, the controllers' leader
	for r, k := range kills[:len(kills)-1] {
		kind := r % 2 // round r+1: odd rounds kill etcd's leader
		gaps[kind] = append(gaps[kind], gapAround(writes, k.at))
		resumes[kind] = append(resumes[kind], k.resumed)
	}
	fmt.Printf("MASTERS crash: %d leader kill rounds + all three at once, %d writers: %d writes acknowledged, %d failed, %d acknowledged lost\n",
		rounds, crashWriters, acked, failed, lost)
	for kind, what := range []string{"etcd's leader", "the controllers' leader"} {
		if len(gaps[kind]) == 0 {
			continue
		}
		fmt.Printf("MASTERS crash: kill -9 of %s (%d rounds): write gap median %.2fs max %.2fs; first successful write sent after the kill: median %.2fs max %.2fs\n",
			what, len(gaps[kind]), median(gaps[kind]).Seconds(), slices.Max(gaps[kind]).Seconds(), median(resumes[kind]).Seconds(), slices.Max(resumes[kind]).Seconds())
	}
	last := kills[len(kills)-1]
	fmt.Printf("MASTERS crash: all three killed and restarted: write gap %.2fs, first successful write sent after the kill %.2fs\n",
		gapAround(writes, last.at).Seconds(), last.resumed.Seconds())
	if lost > 0 {
		if len(lostIDs) > 20 {
			lostIDs = lostIDs[:20]
		}
		c.t.Fatalf("%d acknowledged writes lost, e.g. %v", lost, lostIDs)
	}
	if acked == 0 {
		c.t.Fatal("no write was acknowledged")
	}
}

// median of ds (the upper one of an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
