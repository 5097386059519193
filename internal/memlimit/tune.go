package memlimit

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// The default keeps a process in one of two modes, under a soft memory
// limit at the ceiling (half of the machine's memory) in both.
//
// Quiet: the heap is collected once it has grown by a quarter of the live
// heap plus 64 MiB (Near), through GOGC re-set after every collection
// (quietGOGC), never above the GOGC the process started with. GOGC's own
// goal is a headroom of the whole live heap; a master holding 30,000 pods
// lives on about 190 MB, and the other 190 MB the heap may grow into before
// the next collection was 40% of its RSS.
//
// The quiet mode was a memory limit at Near until the fifteenth pass
// (docs/performance.md): the runtime counts its stacks, its own structures
// and the free space in its spans against a limit too, so a master with
// 250 MB live collected every 24-47 MB where Near said 127 MiB (0.9 of a
// core where quietCost said 0.3), and after a burst, whose survivors are
// scattered over more spans than they fill, the spans alone were above the
// limit: an idle master holding 150,000 pods collected back to back. GOGC
// counts heap bytes only: the room is the room.
//
// Burst: GOGC back at the process's own (100 unless GOGC says otherwise).
// The price of the quiet headroom is CPU, paid per byte allocated: a heap
// collected after growing by a quarter is collected four times as often as
// GOGC's, and while a master takes a burst (150,000 pods created, bound and
// started) that took a quarter to two fifths of its CPU. A burst used to
// raise GOGC above the process's own (200 from the ninth pass, 400 from
// the thirteenth), which paid while the quiet mode was a limit that kept
// the burst from starting for a minute and a half. With the quiet mode set
// by GOGC it buys little time and costs memory for good: a burst's
// survivors are scattered over a heap that large, which the process keeps
// after it. The 150,000-pod row (fifteenth pass, alternating, medians of
// two): GOGC 100 in a burst 98.4 s and 1,593 MB settled (8.5-8.7 KB a
// pod); 200: 91.4 s and 1,925 MB (10.2-11.4 KB); 400, before the pass's
// other savings: 91.8 s and 2,470 MB against 90.5 s and 2,217 MB at 200.
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

	hotCores    = 0.3
	coolCores   = 0.15 // a master holding 150,000 pods, idle but for its controllers: 0.09
	burstWindow = 3 * time.Second
)

// QuietWindow is how long a burst's allocations must have stopped before
// its garbage is returned: a process's RSS settles within a few seconds
// after it.
const QuietWindow = 10 * time.Second

// Near returns the heap a quiet process may grow to before it collects:
// live*1.25 + 64 MiB, at most max (pure).
func Near(live, max int64) int64 {
	l := live + int64(float64(live)*headroomQuiet) + headroomFloor
	if max > 0 && l > max {
		return max
	}
	return l
}

// quietGOGC is the GOGC that puts the next collection at Near(live): the
// runtime's heap goal is live + (live + stacks + globals) * GOGC/100, so the
// room over live as a percentage of it, rounded up; never above gogc, the
// process's own (a small heap collects as that says), at least 1; off
// stays off (pure).
func quietGOGC(live int64, gogc int) int {
	if gogc < 0 || live <= 0 {
		return gogc
	}
	room := Near(live, 0) - live
	pct := (room*100 + live - 1) / live
	return int(max(1, min(pct, int64(gogc))))
}

// quietRoom is how many bytes a quiet process allocates between two
// collections with live bytes live and its own GOGC gogc (pure).
func quietRoom(live int64, gogc int) int64 {
	if gogc < 0 {
		return 0
	}
	return live * int64(quietGOGC(live, gogc)) / 100
}

// quietCost is the CPU (cores) the quiet mode's collections would take: a
// cycle costs cycleGC CPU seconds and comes each time the process has
// allocated room bytes, at allocRate bytes a second (pure).
func quietCost(cycleGC, allocRate float64, room int64) float64 {
	if room <= 0 {
		return 0
	}
	return cycleGC * allocRate / float64(room)
}

// nextBurst decides the mode from the quiet mode's cost over the short
// (burstWindow) and the long (QuietWindow) window (pure).
func nextBurst(burst bool, short, long float64) bool {
	if burst {
		return long >= coolCores
	}
	return short >= hotCores
}

// tuner is the default limit's state: the mode and what the runtime said
// at the previous collection and the previous ticks.
type tuner struct {
	gogc int // the process's own GOGC: a burst's, and the quiet mode's is never above it

	mu      sync.Mutex
	burst   bool
	live    int64
	gc      float64 // the collector's CPU seconds at the previous collection
	cycles  int64   // collections completed then
	cycleGC float64 // the collector's CPU seconds a cycle, over the cycles since
	allocs  []int64 // heap bytes allocated so far, one a second, the last QuietWindow
}

var tuning sync.Once

// tune sets the limit at max and keeps the heap's goal near the live heap
// from now on (after every collection, a cleanup re-armed each cycle), and
// switches to the burst mode and back once a second as nextBurst says.
func tune(max int64) {
	debug.SetMemoryLimit(max)
	tuning.Do(func() {
		t := &tuner{gogc: gogcNow()}
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
// the quiet mode, sets GOGC from the live heap.
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
		setGOGC(quietGOGC(r.live, t.gogc))
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
	room := quietRoom(t.live, t.gogc)
	short := quietCost(t.cycleGC, rate(int(burstWindow/time.Second)), room)
	long := quietCost(t.cycleGC, rate(n), room)
	if k < n {
		long = max(long, coolCores) // a burst ends only after a whole quiet window
	}
	next := nextBurst(t.burst, short, long)
	if next == t.burst {
		return false
	}
	t.burst = next
	if next {
		setGOGC(t.gogc)
		return false
	}
	setGOGC(quietGOGC(t.live, t.gogc))
	return true
}

// setGOGC sets the runtime's GOGC unless it is off: turning it off or on
// is the user's (GOGC=off), and setting it off waits for a running cycle.
func setGOGC(pct int) {
	if pct >= 0 {
		debug.SetGCPercent(pct)
	}
}
