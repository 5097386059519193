package netfilter

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// Table is an iptables table ("nat", "filter").
type Table string

// Tables kubelite writes to.
const (
	TableNAT    Table = "nat"
	TableFilter Table = "filter"
)

// Chain is the name of an iptables chain.
type Chain string

// Built-in chains.
const (
	ChainPrerouting  Chain = "PREROUTING"
	ChainInput       Chain = "INPUT"
	ChainForward     Chain = "FORWARD"
	ChainOutput      Chain = "OUTPUT"
	ChainPostrouting Chain = "POSTROUTING"
)

// Position says where EnsureRule adds a missing rule.
type Position int

const (
	// Append adds the rule at the end of the chain.
	Append Position = iota
	// Prepend adds the rule at the top of the chain.
	Prepend
)

// Interface runs iptables. See the package doc for the contract.
type Interface interface {
	// EnsureChain creates chain in table unless it exists.
	EnsureChain(table Table, chain Chain) error
	// EnsureRule adds the rule (argv words after "-A chain") at pos unless an
	// identical rule exists; it reports whether one existed.
	EnsureRule(pos Position, table Table, chain Chain, args ...string) (existed bool, err error)
	// DeleteRule removes the rule if present. A missing rule or chain is not an error.
	DeleteRule(table Table, chain Chain, args ...string) error
	// Save returns the iptables-save text of table.
	Save(table Table) ([]byte, error)
	// Restore feeds data to iptables-restore --noflush as one transaction.
	Restore(data []byte) error
}

// builtinChains lists the built-in chains of each table, in iptables-save order.
var builtinChains = map[Table][]Chain{
	TableNAT:    {ChainPrerouting, ChainInput, ChainOutput, ChainPostrouting},
	TableFilter: {ChainInput, ChainForward, ChainOutput},
	"mangle":    {ChainPrerouting, ChainInput, ChainForward, ChainOutput, ChainPostrouting},
	"raw":       {ChainPrerouting, ChainOutput},
}

// IsBuiltin reports whether chain is a built-in chain of table.
func IsBuiltin(table Table, chain Chain) bool {
	for _, c := range builtinChains[table] {
		if c == chain {
			return true
		}
	}
	return false
}

// Join renders argv words as one line of restore text, quoting words that
// contain white space or quotes, as iptables-save does.
func Join(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a == "" || strings.ContainsAny(a, " \t\"'") {
			b.WriteByte('"')
			b.WriteString(strings.ReplaceAll(a, `"`, `\"`))
			b.WriteByte('"')
			continue
		}
		b.WriteString(a)
	}
	return b.String()
}

// Split is the inverse of Join: it splits a line of restore text into argv
// words, honouring double quotes and backslash-escaped quotes.
func Split(line string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		inQ   bool
		have  bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && inQ && i+1 < len(line) && line[i+1] == '"':
			cur.WriteByte('"')
			i++
		case c == '"':
			inQ = !inQ
			have = true
		case (c == ' ' || c == '\t') && !inQ:
			if have {
				words = append(words, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if inQ {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if have {
		words = append(words, cur.String())
	}
	return words, nil
}

// Chains returns the chains declared in the section of table of
// iptables-save text, sorted.
func Chains(save []byte, table Table) []Chain {
	var out []Chain
	in := false
	sc := bufio.NewScanner(bytes.NewReader(save))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "*"):
			in = Table(line[1:]) == table
		case line == "COMMIT":
			in = false
		case in && strings.HasPrefix(line, ":"):
			if f := strings.Fields(line[1:]); len(f) > 0 {
				out = append(out, Chain(f[0]))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Rules returns the rules of chain in table from iptables-save text, each as
// the text after "-A <chain> ".
func Rules(save []byte, table Table, chain Chain) []string {
	var out []string
	in := false
	prefix := "-A " + string(chain) + " "
	sc := bufio.NewScanner(bytes.NewReader(save))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "*"):
			in = Table(line[1:]) == table
		case line == "COMMIT":
			in = false
		case in && strings.HasPrefix(line, prefix):
			out = append(out, strings.TrimPrefix(line, prefix))
		}
	}
	return out
}

// MasqMark is the fwmark bit with which the service proxy asks for a packet
// to be masqueraded (hairpin and public-IP traffic). Other rule writers
// (podnet) must let packets carrying it reach the proxy's masquerade rule.
const MasqMark = "0x4000/0x4000"
