package memlimit

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// The default keeps a process in one of two modes.
//
// Quiet: the limit is the live heap plus a quarter plus 64 MiB, re-set after
// every collection, GOGC as the process started. GOGC's own goal is a
// headroom of the whole live heap; a master holding 30,000 pods lives on
// about 190 MB, and the other 190 MB the heap may grow into before the next
// collection was 40% of its RSS.
//
// Burst: GOGC raised to burstGOGC and the limit at the ceiling. The price of
// the quiet headroom is CPU, paid per byte allocated: a heap collected after
// growing by a quarter is collected four times as often as GOGC's. While a
// master takes a burst (150,000 pods created, bound and started) its
// collector took a quarter to two fifths of its CPU; with GOGC 200 in a
// burst the same run took 0.78 of the time and 0.81 of the master's CPU a
// pod (docs/performance.md, ninth pass). GOGC goes to 400, not more: the
// survivors of a burst's last cycles are scattered over a heap that large,
// which the process keeps after the burst. The footprint row (thirteenth
// pass, small maps shared in the decoded cache): 200: 6.73 KB a pod held,
// 300: 7.5 KB, 400: 8.72 KB, against its target of 10 KB (before maps were
// shared: 200: 8.66 KB, 400: 10.6 KB).
//
// The mode is decided once a second from what the quiet mode's collections
// would cost at the allocation rate of a window (quietCost): the rate does
// not depend on the mode, so a burst's cheaper collections do not end it.
// A burst starts when that cost over the last burstWindow reaches hotCores
// and ends when it stays under coolCores over the whole of QuietWindow, long
// enough that a stall of a few seconds in the middle of a burst (an fsync,
// the API's in-flight cap) does not end it; its garbage is then collected
// and returned to the system at once.
const (
	headroomQuiet = 0.25     // of the live heap
	headroomFloor = 64 << 20 // bytes, so a small heap collects no more often than GOGC says
	burstGOGC     = 400      // the heap may grow to five times what is live

	hotCores    = 0.3
	coolCores   = 0.15 // a master holding 150,000 pods, idle but for its controllers: 0.09
	burstWindow = 3 * time.Second
)

// QuietWindow is how long a burst's allocations must have stopped before
// its garbage is returned: a process's RSS settles within a few seconds
// after it.
const QuietWindow = 10 * time.Second

// Near returns the limit a quiet process keeps: live*1.25 + 64 MiB, at
// most max (pure).
func Near(live, max int64) int64 {
	l := live + int64(float64(live)*headroomQuiet) + headroomFloor
	if max > 0 && l > max {
		return max
	}
	return l
}

// quietCost is the CPU (cores) the quiet mode's collections would take: a
// cycle costs cycleGC CPU seconds and comes each time the process has
// allocated the quiet headroom's room, at allocRate bytes a second (pure).
// The room is too large: the runtime counts stacks, its own structures and
// free space in spans against the limit as well, so a master with 250 MB
// live collected every 24-47 MB, not every 127 MiB, and spent 0.9 of a core
// where this said 0.3. Counting that overhead alone kept the burst from
// ever ending under 5,000 heartbeating minions: the thresholds must be set
// again with it (docs/performance.md, fourteenth pass).
func quietCost(cycleGC, allocRate float64, live int64) float64 {
	room := float64(Near(live, 0) - live)
	return cycleGC * allocRate / room
}

// nextBurst decides the mode from the quiet mode's cost over the short
// (burstWindow) and the long (QuietWindow) window (pure).
func nextBurst(burst bool, short, long float64) bool {
	if burst {
		return long >= coolCores
	}
	return short >= hotCores
}

// burstGC is the GOGC of a burst for a process started with gogc: raised to
// burstGOGC, never lowered, and left off when it was off (pure).
func burstGC(gogc int) int {
	if gogc < 0 {
		return gogc
	}
	return max(gogc, burstGOGC)
}

// tuner is the default limit's state: the mode and what the runtime said
// at the previous collection and the previous ticks.
type tuner struct {
	max  int64
	gogc int // the process's own GOGC, restored when a burst ends

	mu      sync.Mutex
	burst   bool
	live    int64
	gc      float64 // the collector's CPU seconds at the previous collection
	cycles  int64   // collections completed then
	cycleGC float64 // the collector's CPU seconds a cycle, over the cycles since
	allocs  []int64 // heap bytes allocated so far, one a second, the last QuietWindow
}

var tuning sync.Once

// tune keeps the limit near the live heap from now on (after every
// collection, a cleanup re-armed each cycle) and switches to the burst
// mode and back once a second as nextBurst says.
func tune(max int64) {
	tuning.Do(func() {
		t := &tuner{max: max, gogc: gogcNow()}
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
	{Name: "/cpu/classes/gc/mark/idle:cpu-seconds"},
	{Name: "/gc/heap/allocs:bytes"},
	{Name: "/gc/gogc:percent"},
	{Name: "/gc/cycles/total:gc-cycles"},
}

type reading struct {
	live   int64
	gc     float64 // the collector's CPU seconds, less what it took of idle CPUs
	allocs int64
	gogc   int
	cycles int64 // collections completed so far
}

func read() (reading, bool) {
	s := make([]metrics.Sample, len(samples))
	copy(s, samples)
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindFloat64 ||
		s[2].Value.Kind() != metrics.KindFloat64 || s[3].Value.Kind() != metrics.KindUint64 ||
		s[4].Value.Kind() != metrics.KindUint64 || s[5].Value.Kind() != metrics.KindUint64 {
		return reading{}, false
	}
	return reading{live: int64(s[0].Value.Uint64()), gc: s[1].Value.Float64() - s[2].Value.Float64(),
		allocs: int64(s[3].Value.Uint64()), gogc: int(int64(s[4].Value.Uint64())), cycles: int64(s[5].Value.Uint64())}, true
}

// gogcNow is the runtime's GOGC (100 when it cannot be read).
func gogcNow() int {
	r, ok := read()
	if !ok {
		return 100
	}
	return r.gogc
}

// collected runs after a collection: it measures the cycle's cost and, in
// the quiet mode, sets the limit from the live heap.
func (t *tuner) collected() {
	r, ok := read()
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// A cleanup may run a cycle late (its sentinel allocated while one was
	// marking survives it), so the cost is divided by the cycles it spans.
	if t.gc > 0 && r.cycles > t.cycles {
		t.cycleGC = (r.gc - t.gc) / float64(r.cycles-t.cycles)
	}
	t.gc, t.cycles, t.live = r.gc, r.cycles, r.live
	if !t.burst {
		debug.SetMemoryLimit(Near(r.live, t.max))
	}
}

// tick decides the mode once a second; a burst's end returns its garbage
// to the system at once (one collection): a process that took a burst then
// holds what it keeps.
func (t *tuner) tick(c <-chan time.Time) {
	for range c {
		if t.step() {
			debug.FreeOSMemory()
		}
	}
}

// step reads the runtime and observes it; true when a burst ended.
func (t *tuner) step() (ended bool) {
	r, ok := read()
	if !ok {
		return false
	}
	return t.observe(r)
}

// observe records the allocations so far (one call a second), decides the
// mode and applies a change; true when a burst ended.
func (t *tuner) observe(r reading) (ended bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := int(QuietWindow / time.Second)
	t.allocs = append(t.allocs, r.allocs)
	if len(t.allocs) > n+1 {
		t.allocs = t.allocs[len(t.allocs)-n-1:]
	}
	k := len(t.allocs) - 1
	rate := func(w int) float64 { // bytes a second over the last w seconds, or as many as recorded
		w = min(w, k)
		if w == 0 {
			return 0
		}
		return float64(t.allocs[k]-t.allocs[k-w]) / float64(w)
	}
	short := quietCost(t.cycleGC, rate(int(burstWindow/time.Second)), t.live)
	long := quietCost(t.cycleGC, rate(n), t.live)
	if k < n {
		long = max(long, coolCores) // a burst ends only after a whole quiet window
	}
	next := nextBurst(t.burst, short, long)
	if next == t.burst {
		return false
	}
	t.burst = next
	if next {
		debug.SetGCPercent(burstGC(t.gogc))
		debug.SetMemoryLimit(t.max)
		return false
	}
	debug.SetGCPercent(t.gogc)
	debug.SetMemoryLimit(Near(t.live, t.max))
	return true
}
