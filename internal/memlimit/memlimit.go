package memlimit

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Limit is a chosen memory limit and where it came from.
type Limit struct {
	Bytes  int64  // 0: leave the runtime's setting alone
	Source string // "--memory-limit-mb", "GOMEMLIMIT", "default (half of N MiB)", "none"
	// Default: Bytes is the default's ceiling, the limit; Apply keeps the
	// heap's goal near the live heap below it (Near, through GOGC).
	Default bool
}

// Choose decides the limit. flagMB > 0 is --memory-limit-mb; env is
// GOMEMLIMIT's value ("" unset); memTotal and cgroupMax are the machine's
// memory and its cgroup's limit in bytes (0: unknown or unlimited).
func Choose(flagMB int, env string, memTotal, cgroupMax int64) Limit {
	if flagMB > 0 {
		return Limit{Bytes: int64(flagMB) << 20, Source: "--memory-limit-mb"}
	}
	if env != "" {
		return Limit{Source: "GOMEMLIMIT"}
	}
	avail := memTotal
	if cgroupMax > 0 && (avail == 0 || cgroupMax < avail) {
		avail = cgroupMax
	}
	if avail <= 0 {
		return Limit{Source: "none"}
	}
	return Limit{Bytes: avail / 2, Source: fmt.Sprintf("default (half of %d MiB)", avail>>20), Default: true}
}

// Apply chooses the limit for flagMB from this machine and sets it. Under
// the default (neither the flag nor GOMEMLIMIT) the heap's goal is kept
// near the live heap (Near), up to the chosen bytes; a limit the user
// chose is set as it is.
func Apply(flagMB int) Limit {
	l := Choose(flagMB, os.Getenv("GOMEMLIMIT"), memTotal(), cgroupMax())
	switch {
	case l.Bytes > 0 && l.Default:
		tune(l.Bytes)
	case l.Bytes > 0:
		debug.SetMemoryLimit(l.Bytes)
	}
	return l
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	return parseMemTotal(f)
}

// parseMemTotal reads MemTotal (kB) from /proc/meminfo's format.
func parseMemTotal(r io.Reader) int64 {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

func cgroupMax() int64 {
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	return parseCgroupMax(string(b))
}

// parseCgroupMax reads cgroup v2's memory.max ("max" or bytes); 0 for
// unlimited or unreadable.
func parseCgroupMax(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "max" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n == math.MaxInt64 {
		return 0
	}
	return n
}
