// Package procmaps reads a Linux process's memory mappings, the lines of
// /proc/PID/maps (proc(5)), for the packages that advise the kernel about
// this process's own memory: internal/hugepage (its heap) and
// internal/exepages (its executable's pages). Parse is pure.
package procmaps
