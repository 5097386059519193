package memlimit

import (
	"strings"
	"testing"
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
