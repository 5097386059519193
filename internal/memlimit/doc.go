// Package memlimit sets the Go runtime's soft memory limit of a master
// (debug.SetMemoryLimit, what GOMEMLIMIT sets) and, by default, tunes its
// GOGC. Under the limit the garbage collector runs as GOGC says (at 100
// the heap may grow to twice what is live); near it, it collects more
// often instead of growing the heap. By default a quiet master's GOGC is
// lowered so that, holding a large cache, it stays near what it uses
// rather than twice that.
//
// Choose is the whole decision (pure): the flag --memory-limit-mb when
// given; else GOMEMLIMIT from the environment when set (the runtime has
// applied it already); else the default, half of the memory this process
// may use (the smaller of the machine's memory and its cgroup's limit).
// Apply reads the machine and sets it. A limit the user chose is set as
// it is. Under the default (tune.go) the limit is that ceiling and a
// process is quiet or in a burst, decided once a second from what a quiet
// process's collections would cost at its allocation rate (the last
// cycle's cost, a cycle each time it has allocated the quiet room): quiet,
// GOGC is re-set after every collection so that the heap is collected once
// it has grown by a quarter of the live heap plus 64 MiB, instead of
// GOGC's whole heap again (never more often than the process's own GOGC
// says); a burst (that cost reaching 0.3 of a core over 3 s: a master
// taking thousands of creates) puts GOGC back at the process's own, since
// collecting a large heap four times as often as GOGC says took a quarter
// to two fifths of a busy master's CPU. The burst ends once the cost has stayed
// under 0.15 of a core for a whole QuietWindow (10 s: a stall of a few
// seconds in a burst does not end it); its garbage is then collected and
// returned to the system at once.
package memlimit
