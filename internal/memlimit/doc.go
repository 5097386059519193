// Package memlimit sets the Go runtime's soft memory limit of a master
// (debug.SetMemoryLimit, what GOMEMLIMIT sets). Under the limit the garbage
// collector runs as GOGC says (the heap may grow to twice what is live);
// near it, it collects more often instead of growing the heap, so a master
// holding a large cache stays near what it uses rather than twice that.
//
// Choose is the whole decision (pure): the flag --memory-limit-mb when
// given; else GOMEMLIMIT from the environment when set (the runtime has
// applied it already); else the default, half of the memory this process
// may use (the smaller of the machine's memory and its cgroup's limit).
// Apply reads the machine and sets it. A limit the user chose is set as
// it is; the default is a ceiling under which the limit follows the live
// heap (tune.go: after every collection, live plus a headroom plus 64 MiB).
// A quiet master keeps a quarter of its live heap as headroom instead of
// GOGC's whole heap again. While collections cost more than 15% of its CPU
// and 0.3 of a core (a burst of creates) the headroom doubles, up to
// GOGC's own; once a second it narrows again, halving, while the
// collections the narrower headroom would need (the last cycle's cost, the
// allocation rate of the last 5 s) would take under 0.15 of a core, and
// the burst's garbage is then collected and returned.
package memlimit
