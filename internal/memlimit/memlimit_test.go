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
