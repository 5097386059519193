package memlimit

import (
	"runtime"
	"runtime/debug"
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

// The default's limit follows the live heap after each collection.
func TestTuneFollowsLiveHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const ceiling = int64(8) << 30
	tune(ceiling)
	hold := make([][]byte, 0, 128)
	for i := 0; i < 128; i++ {
		hold = append(hold, make([]byte, 1<<20)) // 128 MiB live
	}
	for i := 0; i < 3; i++ {
		runtime.GC()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := debug.SetMemoryLimit(-1)
		if got >= Near(128<<20, ceiling) && got < ceiling {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("limit %d MiB after collections with 128 MiB live, want about %d MiB", got>>20, Near(128<<20, ceiling)>>20)
		}
		runtime.GC() // the cleanup runs after a collection, on its own goroutine
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(hold)
}

func TestWiden(t *testing.T) {
	for _, tc := range []struct {
		headroom, share, cores, want float64
	}{
		{0.25, 0.08, 0.2, 0.25}, // a cheap cycle changes nothing
		{0.25, 0.15, 0.3, 0.25}, // at the threshold: not costly yet
		{0.25, 0.40, 0.6, 0.5},  // a costly one doubles it
		{0.5, 0.30, 0.4, 1.0},
		{1.0, 0.45, 0.9, 1.0},    // never past GOGC's own
		{1.0, 0.01, 0.02, 1.0},   // only narrow (a tick) narrows it
		{0.25, 0.90, 0.01, 0.25}, // the runtime's periodic collection of an idle process
		{0.25, 0.50, 0.25, 0.25}, // costly for a quiet process, yet under hotCores
	} {
		if got := widen(tc.headroom, tc.share, tc.cores); got != tc.want {
			t.Errorf("widen(%v, %v, %v) = %v, want %v", tc.headroom, tc.share, tc.cores, got, tc.want)
		}
	}
}

func TestNarrowTo(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name                    string
		headroom, cycleGC, rate float64 // rate in MiB/s
		live                    int64
		want                    float64
	}{
		{"idle", 1.0, 0.7, 0, 700 * mib, 0.25},
		{"a burst", 1.0, 0.7, 300, 700 * mib, 1.0},          // 0.25: a cycle every 0.8 s, 0.9 cores
		{"churn", 1.0, 0.7, 10, 700 * mib, 0.25},            // 0.25: a cycle every 24 s, 0.03 cores
		{"busier", 1.0, 0.7, 60, 700 * mib, 0.5},            // 0.5: 0.10 cores; 0.25: 0.18
		{"already narrow", 0.25, 0.7, 0, 700 * mib, 0.25},   //
		{"small heap", 1.0, 0.01, 100, 20 * mib, 0.25},      // the floor's 64 MiB: 0.015 cores
		{"no cycle measured", 1.0, 0, 300, 700 * mib, 0.25}, // nothing says a cycle costs anything
	} {
		if got := narrowTo(tc.headroom, tc.cycleGC, tc.rate*mib, tc.live); got != tc.want {
			t.Errorf("%s: narrowTo(%v, %v, %v MiB/s, %d MiB) = %v, want %v", tc.name, tc.headroom, tc.cycleGC, tc.rate, tc.live/mib, got, tc.want)
		}
	}
}

// A tuner whose headroom was widened by a burst narrows it once the process
// allocates little, and sets the limit to match.
func TestNarrowsWhenQuiet(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const live, ceiling = int64(512) << 20, int64(8) << 30
	tu := &tuner{max: ceiling, headroom: headroomMax, live: live, cycleGC: 0.5}
	debug.SetMemoryLimit(limitFor(live, ceiling, headroomMax))
	narrowed := false
	for i := 0; i <= int(rateWindow/time.Second); i++ {
		narrowed = tu.narrow() // the test allocates next to nothing between calls
	}
	if !narrowed || !tu.forced {
		t.Fatalf("narrow() = %v (forced %v) after a quiet window, want true", narrowed, tu.forced)
	}
	if tu.headroom != headroomMin {
		t.Fatalf("headroom %v after a quiet window, want %v", tu.headroom, headroomMin)
	}
	if got, want := debug.SetMemoryLimit(-1), Near(live, ceiling); got != want {
		t.Fatalf("limit %d MiB, want %d MiB", got>>20, want>>20)
	}
}
