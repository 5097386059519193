package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

func TestChoose(t *testing.T) {
	const gib = int64(1) << 30
	for _, tc := range []struct {
		name             string
		flagMB           int
		env              string
		mem, cgroup      int64
		wantBytes        int64
		wantSourcePrefix string
	}{
		{"flag wins", 1536, "4GiB", 24 * gib, 8 * gib, 1536 << 20, "--memory-limit-mb"},
		{"GOMEMLIMIT left to the runtime", 0, "4GiB", 24 * gib, 0, 0, "GOMEMLIMIT"},
		{"half the machine", 0, "", 24 * gib, 0, 12 * gib, "default (half of 24576 MiB)"},
		{"half the cgroup when smaller", 0, "", 24 * gib, 2 * gib, gib, "default (half of 2048 MiB)"},
		{"cgroup larger than the machine", 0, "", 4 * gib, 64 * gib, 2 * gib, "default (half of 4096 MiB)"},
		{"only the cgroup known", 0, "", 0, 2 * gib, gib, "default"},
		{"nothing known", 0, "", 0, 0, 0, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Choose(tc.flagMB, tc.env, tc.mem, tc.cgroup)
			if l.Bytes != tc.wantBytes || !strings.HasPrefix(l.Source, tc.wantSourcePrefix) {
				t.Fatalf("got %d from %q, want %d from %q...", l.Bytes, l.Source, tc.wantBytes, tc.wantSourcePrefix)
			}
		})
	}
}

func TestParse(t *testing.T) {
	if got := parseMemTotal(strings.NewReader("MemFree: 1 kB\nMemTotal:       24576000 kB\n")); got != 24576000<<10 {
		t.Fatalf("MemTotal: %d", got)
	}
	if got := parseMemTotal(strings.NewReader("garbage\n")); got != 0 {
		t.Fatalf("no MemTotal: %d", got)
	}
	for in, want := range map[string]int64{"max\n": 0, "2147483648\n": 2147483648, "x": 0, "-1": 0} {
		if got := parseCgroupMax(in); got != want {
			t.Fatalf("memory.max %q: %d, want %d", in, got, want)
		}
	}
}

func TestNear(t *testing.T) {
	const mib = int64(1) << 20
	for _, tc := range []struct {
		live, max, want int64
	}{
		{0, 12 << 10 * mib, 64 * mib},                    // idle: the floor
		{20 * mib, 12 << 10 * mib, 89 * mib},             // small: above GOGC's own goal (40 MiB), changes nothing
		{200 * mib, 12 << 10 * mib, 314 * mib},           // a large cache: a quarter over live, not double
		{10 << 10 * mib, 12 << 10 * mib, 12 << 10 * mib}, // never above the ceiling
		{200 * mib, 0, 314 * mib},                        // no ceiling known
	} {
		if got := Near(tc.live, tc.max); got != tc.want {
			t.Errorf("Near(%d MiB, %d MiB) = %d MiB, want %d MiB", tc.live/mib, tc.max/mib, got/mib, tc.want/mib)
		}
	}
}

func TestQuietGOGC(t *testing.T) {
	const mib = int64(1) << 20
	for _, tc := range []struct {
		name string
		live int64
		gogc int
		want int
	}{
		{"idle", 0, 100, 100},
		{"small: the process's own GOGC", 20 * mib, 100, 100},
		{"a large cache: a quarter over live plus 64 MiB", 512 * mib, 100, 38},
		{"150,000 pods", 672 * mib, 100, 35},
		{"very large: never under a quarter", 64 << 10 * mib, 100, 26},
		{"a lower GOGC of the user's wins", 512 * mib, 20, 20},
		{"off stays off", 512 * mib, -1, -1},
	} {
		if got := quietGOGC(tc.live, tc.gogc); got != tc.want {
			t.Errorf("%s: quietGOGC(%d MiB, %d) = %d, want %d", tc.name, tc.live/mib, tc.gogc, got, tc.want)
		}
	}
	// The goal it gives (live + live*GOGC/100, stacks aside) is Near's,
	// to within the rounding up of one percent.
	for _, live := range []int64{100 * mib, 300 * mib, 672 * mib, 4 << 10 * mib} {
		goal := live + quietRoom(live, 100)
		if near := Near(live, 0); goal < near || goal > near+live/100 {
			t.Errorf("live %d MiB: goal %d MiB, Near %d MiB", live/mib, goal/mib, near/mib)
		}
	}
}

// gcPercent reads the runtime's GOGC without setting it.
func gcPercent(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("no /gc/gogc:percent")
	}
	return int(int64(s[0].Value.Uint64()))
}

// The default's GOGC follows the live heap after each collection, under
// the ceiling as the limit.
func TestTuneFollowsLiveHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const ceiling = int64(8) << 30
	tune(ceiling)
	if got := debug.SetMemoryLimit(-1); got != ceiling {
		t.Fatalf("limit %d MiB, want the ceiling %d MiB", got>>20, ceiling>>20)
	}
	hold := make([][]byte, 0, 512)
	for i := 0; i < 512; i++ {
		hold = append(hold, make([]byte, 1<<20)) // 512 MiB live
	}
	want := quietGOGC(512<<20, 100)
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC() // the cleanup runs after a collection, on its own goroutine
		got := gcPercent(t)
		if got >= want-1 && got <= want+1 { // live is 512 MiB and a little
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC %d after collections with 512 MiB live, want about %d", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(hold)
}

func TestQuietCost(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name          string
		cycleGC, rate float64 // rate in MiB/s
		live          int64
		want          float64 // cores, to two places
	}{
		{"idle", 0.7, 0, 700 * mib, 0},
		{"a burst", 0.7, 300, 700 * mib, 0.86}, // a cycle every 0.8 s
		{"churn", 0.7, 10, 700 * mib, 0.03},    // a cycle every 24 s
		{"small heap: GOGC's room, not Near's", 0.01, 100, 20 * mib, 0.05},
		{"no cycle measured", 0, 300, 700 * mib, 0},
		{"no heap", 0.01, 100, 0, 0},
	} {
		got := quietCost(tc.cycleGC, tc.rate*mib, quietRoom(tc.live, 100))
		if math.Abs(got-tc.want) > 0.005 {
			t.Errorf("%s: quietCost(%v, %v MiB/s, %d MiB live) = %.3f, want %.2f", tc.name, tc.cycleGC, tc.rate, tc.live/mib, got, tc.want)
		}
	}
}

func TestNextBurst(t *testing.T) {
	for _, tc := range []struct {
		name        string
		burst       bool
		short, long float64
		want        bool
	}{
		{"quiet stays quiet", false, 0.2, 0.2, false},
		{"a burst starts", false, 0.3, 0.05, true},
		{"a long average alone starts nothing", false, 0.1, 0.5, false},
		{"a burst goes on", true, 0.9, 0.9, true},
		{"a stall of a few seconds", true, 0, 0.4, true},
		{"between the thresholds", true, 0.2, 0.2, true},
		{"a master holding 150,000 pods after the burst", true, 0.09, 0.09, false},
		{"a quiet window ends it", true, 0.01, 0.149, false},
	} {
		if got := nextBurst(tc.burst, tc.short, tc.long); got != tc.want {
			t.Errorf("%s: nextBurst(%v, %v, %v) = %v, want %v", tc.name, tc.burst, tc.short, tc.long, got, tc.want)
		}
	}
}

// A burst of allocations switches the tuner to the burst mode (the
// process's own GOGC) within burstWindow; a stall of a few seconds does
// not end it; a whole quiet window does, restoring the quiet GOGC. The
// limit is never touched.
func TestBurstStartsAndEnds(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const mib = int64(1) << 20
	const live, ceiling = 512 * mib, int64(8) << 30
	tu := &tuner{gogc: 100, live: live, cycleGC: 0.5}
	debug.SetMemoryLimit(ceiling)
	quiet := quietGOGC(live, 100)
	debug.SetGCPercent(quiet)
	var allocs int64
	tick := func(rateMiB int64) bool {
		allocs += rateMiB * mib
		return tu.observe(reading{live: live, allocs: allocs, gogc: 100})
	}
	check := func(when string, burst bool, gogc int) {
		t.Helper()
		if tu.burst != burst {
			t.Fatalf("%s: burst %v, want %v", when, tu.burst, burst)
		}
		if got := debug.SetGCPercent(gogc); got != gogc {
			t.Fatalf("%s: GOGC %d, want %d", when, got, gogc)
		}
		if got := debug.SetMemoryLimit(-1); got != ceiling {
			t.Fatalf("%s: limit %d MiB, want the ceiling %d MiB", when, got>>20, ceiling>>20)
		}
	}
	tick(0)
	for i := 0; i < 5; i++ {
		tick(10) // churn: 0.03 cores
	}
	check("churn", false, quiet)
	for i := 0; i < 3; i++ {
		tick(300) // 0.77 cores at the quiet headroom
	}
	check("a burst", true, 100)
	for i := 0; i < 20; i++ {
		tick(300)
	}
	for i := 0; i < 4; i++ {
		if tick(0) {
			t.Fatalf("a stall of %d s ended the burst", i+1)
		}
	}
	check("a stall", true, 100)
	for i := 0; i < 10; i++ {
		tick(300)
	}
	ended := 0
	for i := 1; i <= int(QuietWindow/time.Second); i++ {
		if tick(0) {
			ended = i
			break
		}
	}
	if ended == 0 {
		t.Fatalf("a quiet window did not end the burst")
	}
	if ended < 8 {
		t.Fatalf("the burst ended %d s into the quiet, want about QuietWindow", ended)
	}
	check("after the quiet window", false, quiet)
}
