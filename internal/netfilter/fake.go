package netfilter

import (
	"bufio"
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Fake is an in-memory Interface for tests. It models tables, chains and
// rules closely enough to catch the mistakes iptables-restore rejects (a rule
// in an undeclared chain, a jump to a missing chain, deleting a chain that is
// still jumped to) and records every restore text it was given.
type Fake struct {
	mu     sync.Mutex
	tables map[Table]*fakeTable

	// Restores holds the text of every Restore call, successful or not.
	Restores [][]byte
	// RestoreErr, when set, makes the next Restore fail with it (once).
	RestoreErr error
	// Calls counts calls by method name ("Restore", "EnsureRule", ...).
	Calls map[string]int
}

type fakeTable struct {
	order []Chain
	rules map[Chain][]string
}

var _ Interface = (*Fake)(nil)

// standardTargets are the targets that are not chains.
var standardTargets = map[string]bool{
	"ACCEPT": true, "DROP": true, "RETURN": true, "REJECT": true, "DNAT": true, "SNAT": true,
	"MASQUERADE": true, "REDIRECT": true, "MARK": true, "LOG": true, "CONNMARK": true, "QUEUE": true,
}

// NewFake returns a Fake holding the empty built-in chains of nat and filter.
func NewFake() *Fake {
	f := &Fake{tables: map[Table]*fakeTable{}, Calls: map[string]int{}}
	f.table(TableNAT)
	f.table(TableFilter)
	return f
}

func (f *Fake) table(t Table) *fakeTable {
	ft, ok := f.tables[t]
	if !ok {
		ft = &fakeTable{rules: map[Chain][]string{}}
		for _, c := range builtinChains[t] {
			ft.order = append(ft.order, c)
			ft.rules[c] = nil
		}
		f.tables[t] = ft
	}
	return ft
}

func (ft *fakeTable) clone() *fakeTable {
	n := &fakeTable{order: append([]Chain(nil), ft.order...), rules: map[Chain][]string{}}
	for c, r := range ft.rules {
		n.rules[c] = append([]string(nil), r...)
	}
	return n
}

func (ft *fakeTable) has(c Chain) bool { _, ok := ft.rules[c]; return ok }

func (ft *fakeTable) addChain(c Chain) {
	if !ft.has(c) {
		ft.order = append(ft.order, c)
		ft.rules[c] = nil
	}
}

// referenced reports whether any rule of another chain jumps to c.
func (ft *fakeTable) referenced(c Chain) (Chain, bool) {
	for from, rules := range ft.rules {
		for _, r := range rules {
			if target(r) == string(c) {
				return from, true
			}
		}
	}
	return "", false
}

// target returns the word after -j (or -g) of a rule.
func target(rule string) string {
	w, err := Split(rule)
	if err != nil {
		return ""
	}
	for i := 0; i+1 < len(w); i++ {
		if w[i] == "-j" || w[i] == "-g" || w[i] == "--jump" || w[i] == "--goto" {
			return w[i+1]
		}
	}
	return ""
}

func (ft *fakeTable) checkTarget(t Table, rule string) error {
	tg := target(rule)
	if tg == "" || standardTargets[tg] {
		return nil
	}
	if !ft.has(Chain(tg)) {
		return fmt.Errorf("%s: jump to missing chain %s", t, tg)
	}
	return nil
}

func (f *Fake) count(name string) {
	if f.Calls == nil {
		f.Calls = map[string]int{}
	}
	f.Calls[name]++
}

// EnsureChain creates chain unless it exists.
func (f *Fake) EnsureChain(table Table, chain Chain) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("EnsureChain")
	f.table(table).addChain(chain)
	return nil
}

// EnsureRule adds the rule unless it exists.
func (f *Fake) EnsureRule(pos Position, table Table, chain Chain, args ...string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("EnsureRule")
	ft := f.table(table)
	if !ft.has(chain) {
		return false, fmt.Errorf("add rule to %s/%s: no such chain", table, chain)
	}
	rule := Join(args)
	for _, r := range ft.rules[chain] {
		if r == rule {
			return true, nil
		}
	}
	if err := ft.checkTarget(table, rule); err != nil {
		return false, fmt.Errorf("add rule to %s/%s: %w", table, chain, err)
	}
	if pos == Prepend {
		ft.rules[chain] = append([]string{rule}, ft.rules[chain]...)
	} else {
		ft.rules[chain] = append(ft.rules[chain], rule)
	}
	return false, nil
}

// DeleteRule removes the first identical rule, if any.
func (f *Fake) DeleteRule(table Table, chain Chain, args ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("DeleteRule")
	ft := f.table(table)
	rule := Join(args)
	rules := ft.rules[chain]
	for i, r := range rules {
		if r == rule {
			ft.rules[chain] = append(rules[:i:i], rules[i+1:]...)
			return nil
		}
	}
	return nil
}

// Save renders table as iptables-save does (without the comment lines).
func (f *Fake) Save(table Table) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Save")
	ft := f.table(table)
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%s\n", table)
	var user []Chain
	for _, c := range ft.order {
		if IsBuiltin(table, c) {
			fmt.Fprintf(&b, ":%s ACCEPT [0:0]\n", c)
		} else {
			user = append(user, c)
		}
	}
	sort.Slice(user, func(i, j int) bool { return user[i] < user[j] })
	for _, c := range user {
		fmt.Fprintf(&b, ":%s - [0:0]\n", c)
	}
	for _, c := range ft.order {
		for _, r := range ft.rules[c] {
			fmt.Fprintf(&b, "-A %s %s\n", c, r)
		}
	}
	b.WriteString("COMMIT\n")
	return b.Bytes(), nil
}

// Restore applies restore text with --noflush semantics, all or nothing.
func (f *Fake) Restore(data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("Restore")
	f.Restores = append(f.Restores, append([]byte(nil), data...))
	if err := f.RestoreErr; err != nil {
		f.RestoreErr = nil
		return err
	}
	r := &fakeRestore{staged: map[Table]*fakeTable{}}
	for t, ft := range f.tables {
		r.staged[t] = ft.clone()
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		r.n++
		if err := r.line(strings.TrimSpace(sc.Text())); err != nil {
			return fmt.Errorf("iptables-restore (fake): line %d: %w", r.n, err)
		}
	}
	if r.inside {
		return fmt.Errorf("iptables-restore (fake): line %d: missing COMMIT", r.n)
	}
	f.tables = r.staged
	return nil
}

// fakeRestore is one Restore in progress: the tables as they would be if
// it succeeded, and where the parser is.
type fakeRestore struct {
	staged map[Table]*fakeTable
	cur    *fakeTable
	curT   Table
	n      int // line number
	inside bool
}

// line applies one line of restore text: a table header, COMMIT, a chain
// declaration or a command.
func (r *fakeRestore) line(line string) error {
	switch {
	case line == "" || strings.HasPrefix(line, "#"):
		return nil
	case strings.HasPrefix(line, "*"):
		if r.inside {
			return fmt.Errorf("table %s opened before COMMIT", line[1:])
		}
		r.curT = Table(line[1:])
		if _, ok := r.staged[r.curT]; !ok {
			r.staged[r.curT] = (&Fake{tables: map[Table]*fakeTable{}}).table(r.curT)
		}
		r.cur, r.inside = r.staged[r.curT], true
		return nil
	case !r.inside:
		return fmt.Errorf("%q outside a table", line)
	case line == "COMMIT":
		r.inside = false
		return nil
	case strings.HasPrefix(line, ":"):
		return r.declare(line)
	}
	return r.command(line)
}

// declare applies a chain declaration (":NAME POLICY [counters]").
func (r *fakeRestore) declare(line string) error {
	f := strings.Fields(line[1:])
	if len(f) != 3 {
		return fmt.Errorf("bad chain declaration %q", line)
	}
	c := Chain(f[0])
	if IsBuiltin(r.curT, c) {
		if f[1] != "ACCEPT" && f[1] != "DROP" {
			return fmt.Errorf("bad policy %q", f[1])
		}
		return nil
	}
	if f[1] != "-" {
		return fmt.Errorf("user chain %s cannot have a policy", c)
	}
	r.cur.addChain(c)
	r.cur.rules[c] = nil
	return nil
}

// command applies -A, -I, -F or -X to a chain of the current table.
func (r *fakeRestore) command(line string) error {
	words, err := Split(line)
	if err != nil {
		return err
	}
	if len(words) < 2 {
		return fmt.Errorf("bad line %q", line)
	}
	op, c, cur := words[0], Chain(words[1]), r.cur
	if !cur.has(c) {
		return fmt.Errorf("chain %s does not exist", c)
	}
	rule := Join(words[2:])
	switch op {
	case "-A", "-I":
		if op == "-A" && len(words) < 3 {
			return fmt.Errorf("empty rule for %s", c)
		}
		if err := cur.checkTarget(r.curT, rule); err != nil {
			return err
		}
		if op == "-A" {
			cur.rules[c] = append(cur.rules[c], rule)
		} else {
			cur.rules[c] = append([]string{rule}, cur.rules[c]...)
		}
	case "-F":
		cur.rules[c] = nil
	case "-X":
		return r.deleteChain(c)
	default:
		return fmt.Errorf("unsupported command %s", op)
	}
	return nil
}

func (r *fakeRestore) deleteChain(c Chain) error {
	cur := r.cur
	if IsBuiltin(r.curT, c) {
		return fmt.Errorf("cannot delete built-in chain %s", c)
	}
	if len(cur.rules[c]) > 0 {
		return fmt.Errorf("chain %s is not empty", c)
	}
	if from, ok := cur.referenced(c); ok {
		return fmt.Errorf("chain %s is still referenced from %s", c, from)
	}
	delete(cur.rules, c)
	for i, o := range cur.order {
		if o == c {
			cur.order = append(cur.order[:i:i], cur.order[i+1:]...)
			break
		}
	}
	return nil
}

// ChainRules returns the rules of chain (text after "-A chain "), nil if the
// chain does not exist. For tests.
func (f *Fake) ChainRules(table Table, chain Chain) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft, ok := f.tables[table]
	if !ok {
		return nil
	}
	return append([]string(nil), ft.rules[chain]...)
}

// HasChain reports whether chain exists in table. For tests.
func (f *Fake) HasChain(table Table, chain Chain) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	ft, ok := f.tables[table]
	return ok && ft.has(chain)
}

// LastRestore returns the text of the last Restore call, nil if none.
func (f *Fake) LastRestore() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.Restores) == 0 {
		return nil
	}
	return f.Restores[len(f.Restores)-1]
}
