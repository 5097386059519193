package memlimit

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Headroom of the default limit: after each collection the limit is set to
// the live heap times headroomNum/headroomDen plus headroomFloor, never
// above the chosen limit. GOGC's own goal is twice the live heap; a master
// holding 30,000 pods lives on about 190 MB, and the other 190 MB the heap
// may grow into before the next collection was 40% of its RSS. The price
// is CPU: a large heap is collected after it grows by a quarter (plus the
// floor) instead of doubling, about twice as many collections.
const (
	headroomNum   = 5
	headroomDen   = 4
	headroomFloor = 64 << 20
)

// Near returns the limit the default keeps: live*1.25 + 64 MiB, at most
// max (pure). A small heap is left its floor, so a small process collects
// no more often than GOGC says.
func Near(live, max int64) int64 {
	l := live/headroomDen*headroomNum + headroomFloor
	if max > 0 && l > max {
		return max
	}
	return l
}

var tuning sync.Once

// tune keeps the limit at Near(live heap, max) from now on, adjusting it
// after every collection (a cleanup re-armed each cycle: no goroutine of
// its own). When the live heap grows faster than collections come, the
// limit binds early and the runtime collects more often, at most half of
// the CPU (its own bound); the next collection raises it.
func tune(max int64) {
	tuning.Do(func() {
		adjust(max)
		arm(max)
	})
}

func arm(max int64) {
	sentinel := new([16]byte)
	runtime.AddCleanup(sentinel, func(max int64) {
		adjust(max)
		arm(max)
	}, max)
}

var liveSample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}

func adjust(max int64) {
	s := make([]metrics.Sample, len(liveSample))
	copy(s, liveSample)
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	debug.SetMemoryLimit(Near(int64(s[0].Value.Uint64()), max))
}
