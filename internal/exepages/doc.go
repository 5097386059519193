// Package exepages lets go of the pages of kubelite's own executable that
// a process touched while it started and no longer uses.
//
// One binary is every role, so every process runs the package
// initialisation of all of it (etcd's server, gRPC, the v1 API's types:
// about 350 packages) and a role's start (flags, TLS, the join) touches
// code it will not run again. The kernel maps file pages around each
// fault, 64 KiB at a time, so a minion that has started has 27 MB of the
// binary's text and read-only data in its page tables; once they are
// released, two minutes of its periodic work map 12 MB of them back (the
// footprint row, docs/performance.md). Release tells the kernel (madvise
// MADV_DONTNEED) that the process no longer needs the read-only mappings
// of its executable. The pages stay in the page cache: what the process
// runs again is mapped back at the cost of a minor fault, and what it
// never runs again is no longer in its RSS nor held by a mapping, so the
// kernel may reclaim it as any cached file (it keeps the mapped pages of
// executables longer).
//
// The roles call it once, when all of their components have started.
// Only private read-only mappings of the executable (found by device and
// inode or by path, as /proc/self/exe names it; a binary replaced on disk
// while it runs is still found) are released: its writable data never
// is, since MADV_DONTNEED would throw away what the process wrote there. Nothing is released while a debugger
// traces the process, whose breakpoints are private copies of text pages.
// A uprobe (perf probe -x, bpftrace) is such a copy too: one placed on
// kubelite before its role had started is lost; place them after.
// An error leaves the mappings as they are: this saves memory, it is
// never a condition of running.
//
// Ranges is the decision (pure); Release applies it through Process,
// which Self implements for this process and tests fake.
package exepages
