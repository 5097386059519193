package memlimit

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// The default limit is the live heap plus a headroom, re-set after every
// collection and never above the chosen ceiling. GOGC's own goal is a
// headroom of the whole live heap; a master holding 30,000 pods lives on
// about 190 MB, and the other 190 MB the heap may grow into before the next
// collection was 40% of its RSS. So a quiet process keeps a quarter
// (headroomMin). The price is CPU, paid per byte allocated: a heap
// collected after growing by a quarter is collected four times as often as
// GOGC's. While a master takes a burst (150,000 pods created, bound and
// started) that was 42% of its CPU and a third of its pods/s, so the headroom
// widens while collections cost much of the process's CPU and narrows
// again once the process allocates little.
const (
	headroomMin   = 0.25     // of the live heap, while collections are cheap
	headroomMax   = 1.0      // GOGC's own, at most
	headroomFloor = 64 << 20 // bytes, so a small heap collects no more often than GOGC says

	// hotShare: a cycle whose collector took more than this share of the
	// process's CPU since the previous cycle, and more than hotCores,
	// doubles the headroom (the runtime's periodic collection of an idle
	// process is a large share of little).
	hotShare = 0.15
	hotCores = 2 * coolCores
	// The headroom narrows (halving, down to headroomMin) while the
	// collections the narrower one would need, at the allocation rate of the
	// last rateWindow and the last cycle's cost, take under coolCores of CPU
	// (half of hotCores, so that a steady process does not swing).
	rateWindow = 5 * time.Second
	coolCores  = 0.15
)

// Near returns the limit a quiet process keeps: live*1.25 + 64 MiB, at
// most max (pure).
func Near(live, max int64) int64 { return limitFor(live, max, headroomMin) }

// limitFor is live plus headroom times live plus the floor, at most max
// (max <= 0: no ceiling known).
func limitFor(live, max int64, headroom float64) int64 {
	l := live + int64(float64(live)*headroom) + headroomFloor
	if max > 0 && l > max {
		return max
	}
	return l
}

// widen returns the headroom after a cycle whose collector took gcShare
// (0..1) of the process's CPU since the previous one, gcCores of CPU a
// second (pure).
func widen(headroom, gcShare, gcCores float64) float64 {
	if gcShare > hotShare && gcCores >= hotCores {
		return min(headroomMax, headroom*2)
	}
	return headroom
}

// narrowTo returns the narrowest headroom, halving from headroom down to
// headroomMin, whose collections would cost under coolCores: a cycle costs
// cycleGC CPU seconds and comes each time the process has allocated the
// headroom's room, at allocRate bytes a second (pure).
func narrowTo(headroom, cycleGC, allocRate float64, live int64) float64 {
	for headroom > headroomMin {
		next := max(headroomMin, headroom/2)
		room := float64(live)*next + headroomFloor
		if cycleGC*allocRate/room >= coolCores {
			break
		}
		headroom = next
	}
	return headroom
}

// tuner is the default limit's state: the headroom and what the runtime
// said at the previous collection and the previous tick.
type tuner struct {
	max int64

	mu       sync.Mutex
	headroom float64
	live     int64
	gc, cpu  float64   // collector's and all of the process's CPU seconds at the previous collection
	at       time.Time // when
	cycleGC  float64   // the collector's CPU seconds over the last cycle
	forced   bool      // the next collection is the tuner's own (FreeOSMemory)
	allocs   []int64   // heap bytes allocated so far, one a second, the last rateWindow
}

var tuning sync.Once

// tune keeps the limit at the live heap plus the headroom from now on: after
// every collection (a cleanup re-armed each cycle) it follows the live heap
// and widens the headroom if the collector was costly; once a second it
// narrows it if the process now allocates little enough (no collection may
// come for minutes then). When the live heap grows
// faster than collections come, the limit binds early and the runtime
// collects more often, at most half of the CPU (its own bound); the next
// collection raises it.
func tune(max int64) {
	tuning.Do(func() {
		t := &tuner{max: max, headroom: headroomMin}
		t.collected()
		arm(t)
		go t.tick(time.NewTicker(time.Second).C)
	})
}

func arm(t *tuner) {
	sentinel := new([16]byte)
	runtime.AddCleanup(sentinel, func(t *tuner) {
		t.collected()
		arm(t)
	}, t)
}

var samples = []metrics.Sample{
	{Name: "/gc/heap/live:bytes"},
	{Name: "/cpu/classes/gc/total:cpu-seconds"},
	{Name: "/cpu/classes/user:cpu-seconds"},
	{Name: "/gc/heap/allocs:bytes"},
}

func read() (live int64, gc, user float64, allocs int64, ok bool) {
	s := make([]metrics.Sample, len(samples))
	copy(s, samples)
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindFloat64 ||
		s[2].Value.Kind() != metrics.KindFloat64 || s[3].Value.Kind() != metrics.KindUint64 {
		return 0, 0, 0, 0, false
	}
	return int64(s[0].Value.Uint64()), s[1].Value.Float64(), s[2].Value.Float64(), int64(s[3].Value.Uint64()), true
}

// collected runs after a collection: the collector's CPU over the cycle
// (the runtime updates these figures at the end of each one) decides the
// headroom, the live heap the limit.
func (t *tuner) collected() {
	live, gc, user, _, ok := read()
	if !ok {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	dgc, dcpu, dt := gc-t.gc, gc+user-t.cpu, now.Sub(t.at).Seconds()
	if !t.forced && !t.at.IsZero() && dcpu > 0 && dt > 0 {
		t.headroom = widen(t.headroom, dgc/dcpu, dgc/dt)
	}
	if !t.at.IsZero() {
		t.cycleGC = dgc
	}
	t.gc, t.cpu, t.at, t.live, t.forced = gc, gc+user, now, live, false
	debug.SetMemoryLimit(limitFor(live, t.max, t.headroom))
}

// tick narrows the headroom once the process allocates little enough and
// returns the burst's garbage to the system at once (one collection, not
// counted as costly): a process that took a burst then holds what it keeps.
func (t *tuner) tick(c <-chan time.Time) {
	for range c {
		if t.narrow() {
			debug.FreeOSMemory()
		}
	}
}

// narrow records the allocations so far (one call a second) and narrows
// the headroom as narrowTo says; true when it did.
func (t *tuner) narrow() bool {
	_, _, _, allocs, ok := read()
	if !ok {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int(rateWindow / time.Second)
	t.allocs = append(t.allocs, allocs)
	if len(t.allocs) > n+1 {
		t.allocs = t.allocs[len(t.allocs)-n-1:]
	}
	if t.headroom <= headroomMin || len(t.allocs) < n+1 {
		return false
	}
	h := narrowTo(t.headroom, t.cycleGC, float64(allocs-t.allocs[0])/rateWindow.Seconds(), t.live)
	if h == t.headroom {
		return false
	}
	t.headroom, t.forced = h, true
	debug.SetMemoryLimit(limitFor(t.live, t.max, t.headroom))
	return true
}
