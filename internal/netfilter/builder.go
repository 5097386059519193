package netfilter

import "bytes"

// Builder assembles the text of one iptables-restore transaction. Per table
// it writes the chain declarations first (which create or flush them), then
// the rules in the order added, then the deletions of chains; tables appear in
// the order they were first used. The zero value is ready to use.
type Builder struct {
	order    []Table
	sections map[Table]*section
}

type section struct {
	declared map[Chain]bool
	chains   []Chain
	rules    bytes.Buffer
	deletes  []Chain
}

func (b *Builder) section(t Table) *section {
	if b.sections == nil {
		b.sections = map[Table]*section{}
	}
	s, ok := b.sections[t]
	if !ok {
		s = &section{declared: map[Chain]bool{}}
		b.sections[t] = s
		b.order = append(b.order, t)
	}
	return s
}

// DeclareChain makes the transaction create chain, or flush it if it exists.
// Declaring a chain twice is the same as once.
func (b *Builder) DeclareChain(t Table, c Chain) {
	s := b.section(t)
	if !s.declared[c] {
		s.declared[c] = true
		s.chains = append(s.chains, c)
	}
}

// AddRule appends a rule (argv words after "-A chain") to chain.
func (b *Builder) AddRule(t Table, c Chain, args ...string) {
	s := b.section(t)
	s.rules.WriteString("-A ")
	s.rules.WriteString(string(c))
	s.rules.WriteByte(' ')
	s.rules.WriteString(Join(args))
	s.rules.WriteByte('\n')
}

// DeleteChain flushes chain and then deletes it.
func (b *Builder) DeleteChain(t Table, c Chain) {
	b.DeclareChain(t, c)
	s := b.section(t)
	s.deletes = append(s.deletes, c)
}

// Bytes returns the restore text.
func (b *Builder) Bytes() []byte {
	var out bytes.Buffer
	for _, t := range b.order {
		s := b.sections[t]
		out.WriteString("*" + string(t) + "\n")
		for _, c := range s.chains {
			out.WriteString(":" + string(c) + " - [0:0]\n")
		}
		out.Write(s.rules.Bytes())
		for _, c := range s.deletes {
			out.WriteString("-X " + string(c) + "\n")
		}
		out.WriteString("COMMIT\n")
	}
	return out.Bytes()
}

// Empty reports whether nothing was added.
func (b *Builder) Empty() bool { return len(b.order) == 0 }
