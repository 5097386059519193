// Package memory is an in-memory object store with the full store.Store
// contract (revisions, compare-and-swap, watch from a revision, Gone when the
// history is exceeded). Objects are kept as JSON so callers never share
// memory with the store. It is the fake every component test uses, and the
// raw layer under registry in unit tests.
package memory
