package hugepage

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/procmaps"
)

// Range is a mapping's addresses, [Start, End).
type Range struct{ Start, End uint64 }

// Candidates returns the mappings of a /proc/PID/maps listing that are
// anonymous, private and writable (the Go heap's arenas among them) and
// hold at least one whole huge page of hugeSize bytes (pure).
func Candidates(maps io.Reader, hugeSize uint64) ([]Range, error) {
	list, err := procmaps.Parse(maps)
	if err != nil {
		return nil, err
	}
	var out []Range
	for _, m := range list {
		if m.Perms != "rw-p" || !m.Anonymous() {
			continue // shared, read-only, file-backed or named ([stack], [heap], [vdso])
		}
		if first := (m.Start + hugeSize - 1) / hugeSize * hugeSize; first+hugeSize <= m.End {
			out = append(out, Range{m.Start, m.End})
		}
	}
	return out, nil
}

// Mode reads the system's setting from the enabled file's contents, the
// word in brackets: "always", "madvise" or "never" (pure).
func Mode(enabled string) string {
	_, rest, ok := strings.Cut(enabled, "[")
	if !ok {
		return ""
	}
	mode, _, _ := strings.Cut(rest, "]")
	return mode
}

// Disabled reports whether a GODEBUG value turns huge pages off for the
// heap (disablethp=1, the Go runtime's own switch; the last setting wins,
// as in the runtime) (pure).
func Disabled(godebug string) bool {
	off := false
	for _, kv := range strings.Split(godebug, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == "disablethp" {
			off = v == "1"
		}
	}
	return off
}

// Advisor advises the candidates of a process's mappings once each.
type Advisor struct {
	// Maps opens the process's mappings; Advise asks for huge pages over
	// one range.
	Maps     func() (io.ReadCloser, error)
	Advise   func(Range) error
	HugeSize uint64

	done map[Range]bool
}

// Once advises every candidate not advised before and returns how many
// it advised. A range that fails is left for the next call; the others
// are still advised.
func (a *Advisor) Once() (int, error) {
	r, err := a.Maps()
	if err != nil {
		return 0, err
	}
	list, err := Candidates(r, a.HugeSize)
	r.Close()
	if err != nil {
		return 0, err
	}
	next := make(map[Range]bool, len(list)) // only mappings that still exist are remembered
	n := 0
	var first error
	for _, c := range list {
		if a.done[c] {
			next[c] = true
			continue
		}
		if err := a.Advise(c); err != nil {
			if first == nil {
				first = fmt.Errorf("madvise %x-%x: %w", c.Start, c.End, err)
			}
			continue
		}
		next[c] = true
		n++
	}
	a.done = next
	return n, first
}

// How often Keep looks: soon after a change (the heap grows in steps of
// a few MiB while a burst lasts, and a page faulted in before its advice
// stays small until the kernel's khugepaged collapses it), backing off to
// rarely once nothing changes.
const (
	minEvery = 100 * time.Millisecond
	maxEvery = 5 * time.Second
)

// Keep advises this process's heap until ctx ends, when the system
// leaves huge pages to each program's advice; otherwise it returns at
// once. Errors are logged at debug: huge pages are a speed-up only.
func Keep(ctx context.Context, log logrus.FieldLogger) {
	if Disabled(os.Getenv("GODEBUG")) {
		log.Debug("transparent huge pages: GODEBUG disablethp=1, nothing advised")
		return
	}
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || Mode(string(b)) != "madvise" {
		log.WithField("mode", strings.TrimSpace(string(b))).Debug("transparent huge pages: nothing to advise")
		return
	}
	size := uint64(2 << 20)
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size"); err == nil {
		if v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 {
			size = v
		}
	}
	a := &Advisor{
		Maps:     func() (io.ReadCloser, error) { return os.Open("/proc/self/maps") },
		Advise:   madvise,
		HugeSize: size,
	}
	every := minEvery
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := a.Once()
		if err != nil {
			log.WithError(err).Debug("transparent huge pages")
		}
		every = next(every, n > 0)
		t.Reset(every)
	}
}

// next is Keep's interval after a pass that did or did not advise
// something (pure).
func next(every time.Duration, changed bool) time.Duration {
	if changed {
		return minEvery
	}
	return min(every*2, maxEvery)
}

// madvise asks for huge pages over r (MADV_HUGEPAGE).
func madvise(r Range) error {
	const madvHugepage = 14
	if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(r.Start), uintptr(r.End-r.Start), madvHugepage); e != 0 {
		return e
	}
	return nil
}
