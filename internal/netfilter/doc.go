// Package netfilter is the only package of kubelite that runs iptables.
//
// Interface is the small surface the service proxy needs: ensure a chain, ensure
// or delete a single rule (used only for the jumps from the built-in chains into
// kubelite's own chains), read a table with iptables-save, and write many rules
// in one atomic iptables-restore --noflush transaction.
//
// Implementations:
//   - Runner (New) runs the real tools: single rules through go-iptables
//     (github.com/coreos/go-iptables/iptables), whole syncs through
//     iptables-save and iptables-restore.
//   - Fake keeps tables in memory, parses restore text like iptables-restore
//     does (all or nothing per call, chain declarations flush, -X refuses a
//     chain still jumped to) and records every restore text it received, so
//     tests compare the exact text with golden files.
//
// Contract shared by both (checked by one contract test run against each):
//   - Restore applies all of its input or none of it. Declaring ":CHAIN - [0:0]"
//     creates the chain or flushes it; chains the input does not name are left
//     untouched (--noflush).
//   - EnsureRule is idempotent and reports whether the rule was already there;
//     DeleteRule of a missing rule or chain is not an error.
//   - Save returns iptables-save text of one table; Chains parses it.
//
// Builder assembles restore text (declarations, rules chain by chain,
// deletions) and can render only some chains (Filtered) for incremental
// syncs; Chains and Rules read iptables-save text.
//
// Rule arguments are plain argv words (no shell quoting); Join renders them
// for restore text, quoting words that contain spaces, exactly as
// iptables-save prints them.
package netfilter
