// Package hugepage asks Linux to back this process's heap with
// transparent huge pages where the system leaves that to each program
// (/sys/kernel/mm/transparent_hugepage/enabled says madvise, the default
// of most distributions): the Go runtime asks it for its own metadata
// only, not for the heap.
//
// A page the heap touches for the first time costs a page fault; in a
// virtual machine whose host backs the guest's memory lazily that fault
// is dear (BenchmarkFirstTouch on the project's machine: 11.9 us a 4 KiB
// page, 0.22 us a 4 KiB page of an advised mapping, medians of three),
// and a master taking a burst of creates faults in its heap again each
// time the runtime has returned part of it to the system. The runtime
// returns memory in pieces smaller than a huge page, which splits it, so
// a process gains less than the benchmark says: the scale row at 30,000
// pods took 0.95 of the time, alternating (docs/performance.md,
// fourteenth pass).
//
// Candidates is the whole decision (pure): the anonymous, private,
// writable mappings of /proc/self/maps that hold a whole huge page. An
// Advisor remembers what it has advised and advises what is new; Keep
// runs one for the life of a process, often while the heap grows and
// rarely once it has stopped. Nothing is done when the system's setting
// is always (nothing to ask) or never (nothing to get), under the Go
// runtime's own switch GODEBUG=disablethp=1, nor on an error: huge pages
// are a speed-up, never a condition.
package hugepage
