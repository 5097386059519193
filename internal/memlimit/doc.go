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
// heap (tune.go: after every collection, Near: live x 1.25 + 64 MiB), so a
// master holding a large cache keeps a quarter of it as headroom instead
// of GOGC's whole heap again, at the cost of more frequent collections.
package memlimit
