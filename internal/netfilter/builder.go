package netfilter

import (
	"bytes"
	"sort"
)

// Builder assembles the text of one iptables-restore transaction. Per table
// it writes the chain declarations first (which create or flush them), then
// the rules chain by chain (chains in the order first used, rules in the
// order added), then the deletions of chains; tables appear in the order they
// were first used. The zero value is ready to use.
type Builder struct {
	order    []Table
	sections map[Table]*section
}

type section struct {
	declared map[Chain]bool
	decls    []Chain
	ruleOf   map[Chain]*bytes.Buffer
	chains   []Chain // chains with rules or declarations, in first-use order
	deletes  []Chain
}

func (b *Builder) section(t Table) *section {
	if b.sections == nil {
		b.sections = map[Table]*section{}
	}
	s, ok := b.sections[t]
	if !ok {
		s = &section{declared: map[Chain]bool{}, ruleOf: map[Chain]*bytes.Buffer{}}
		b.sections[t] = s
		b.order = append(b.order, t)
	}
	return s
}

func (s *section) buf(c Chain) *bytes.Buffer {
	buf, ok := s.ruleOf[c]
	if !ok {
		buf = &bytes.Buffer{}
		s.ruleOf[c] = buf
		s.chains = append(s.chains, c)
	}
	return buf
}

// DeclareChain makes the transaction create chain, or flush it if it exists.
// Declaring a chain twice is the same as once.
func (b *Builder) DeclareChain(t Table, c Chain) {
	s := b.section(t)
	if !s.declared[c] {
		s.declared[c] = true
		s.decls = append(s.decls, c)
		s.buf(c)
	}
}

// AddRule appends a rule (argv words after "-A chain") to chain.
func (b *Builder) AddRule(t Table, c Chain, args ...string) {
	buf := b.section(t).buf(c)
	buf.WriteString("-A ")
	buf.WriteString(string(c))
	buf.WriteByte(' ')
	buf.WriteString(Join(args))
	buf.WriteByte('\n')
}

// DeleteChain flushes chain and then deletes it.
func (b *Builder) DeleteChain(t Table, c Chain) {
	b.DeclareChain(t, c)
	s := b.section(t)
	s.deletes = append(s.deletes, c)
}

// Bytes returns the restore text.
func (b *Builder) Bytes() []byte { return b.Filtered(nil) }

// Filtered returns restore text holding only the chains keep accepts (their
// declarations and rules) plus every deletion; a nil keep accepts all. A
// table left with nothing is omitted; nil means there is nothing to write.
func (b *Builder) Filtered(keep func(Table, Chain) bool) []byte {
	var out bytes.Buffer
	for _, t := range b.order {
		s := b.sections[t]
		deleted := map[Chain]bool{}
		for _, c := range s.deletes {
			deleted[c] = true
		}
		use := func(c Chain) bool { return deleted[c] || keep == nil || keep(t, c) }
		var body bytes.Buffer
		for _, c := range s.decls {
			if use(c) {
				body.WriteString(":" + string(c) + " - [0:0]\n")
			}
		}
		for _, c := range s.chains {
			if use(c) {
				body.Write(s.ruleOf[c].Bytes())
			}
		}
		for _, c := range s.deletes {
			body.WriteString("-X " + string(c) + "\n")
		}
		if body.Len() == 0 {
			continue
		}
		out.WriteString("*" + string(t) + "\n")
		out.Write(body.Bytes())
		out.WriteString("COMMIT\n")
	}
	if out.Len() == 0 {
		return nil
	}
	return out.Bytes()
}

// ChainText returns the rule lines written for chain ("" if none).
func (b *Builder) ChainText(t Table, c Chain) string {
	s, ok := b.sections[t]
	if !ok {
		return ""
	}
	if buf, ok := s.ruleOf[c]; ok {
		return buf.String()
	}
	return ""
}

// Declared returns the chains declared and not deleted, per table, sorted.
func (b *Builder) Declared() map[Table][]Chain {
	out := map[Table][]Chain{}
	for t, s := range b.sections {
		deleted := map[Chain]bool{}
		for _, c := range s.deletes {
			deleted[c] = true
		}
		for _, c := range s.decls {
			if !deleted[c] {
				out[t] = append(out[t], c)
			}
		}
		sort.Slice(out[t], func(i, j int) bool { return out[t][i] < out[t][j] })
	}
	return out
}

// Empty reports whether nothing was added.
func (b *Builder) Empty() bool { return len(b.order) == 0 }
