package kubectl

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// flagSet wraps flag.FlagSet with aliases and interspersed parsing: flags may
// come before, between or after positional arguments, as kubectl allows.
type flagSet struct {
	fs    *flag.FlagSet
	usage string   // "get RESOURCE [ID]"
	help  []string // one line per flag, for --help
}

func newFlagSet(name, usage string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{fs: fs, usage: usage}
}

func (f *flagSet) names(names []string) string {
	var parts []string
	for _, n := range names {
		if len(n) == 1 {
			parts = append(parts, "-"+n)
		} else {
			parts = append(parts, "--"+n)
		}
	}
	return strings.Join(parts, ", ")
}

func (f *flagSet) String(p *string, names []string, def, help string) {
	for _, n := range names {
		f.fs.StringVar(p, n, def, help)
	}
	if def != "" {
		help += fmt.Sprintf(" (default %q)", def)
	}
	f.help = append(f.help, fmt.Sprintf("  %s\t%s", f.names(names), help))
}

func (f *flagSet) Bool(p *bool, names []string, def bool, help string) {
	for _, n := range names {
		f.fs.BoolVar(p, n, def, help)
	}
	f.help = append(f.help, fmt.Sprintf("  %s\t%s", f.names(names), help))
}

func (f *flagSet) Int(p *int, names []string, def int, help string) {
	for _, n := range names {
		f.fs.IntVar(p, n, def, help)
	}
	f.help = append(f.help, fmt.Sprintf("  %s\t%s (default %d)", f.names(names), help, def))
}

func (f *flagSet) Duration(p *time.Duration, names []string, def time.Duration, help string) {
	for _, n := range names {
		f.fs.DurationVar(p, n, def, help)
	}
	f.help = append(f.help, fmt.Sprintf("  %s\t%s (default %s)", f.names(names), help, def))
}

// errHelp asks Run to print a command's usage and succeed.
var errHelp = errors.New("help requested")

// Parse parses args, allowing flags anywhere; it returns the positional
// arguments. "--" ends flags; "-" alone is positional (stdin).
func (f *flagSet) Parse(args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			pos = append(pos, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		if name == "h" || name == "help" {
			return nil, errHelp
		}
		if k := strings.IndexByte(name, '='); k >= 0 {
			if f.fs.Lookup(name[:k]) == nil {
				return nil, fmt.Errorf("unknown flag %s", a[:len(a)-len(name)+k])
			}
			flags = append(flags, a)
			continue
		}
		fl := f.fs.Lookup(name)
		if fl == nil {
			return nil, fmt.Errorf("unknown flag %s", a)
		}
		flags = append(flags, a)
		if bf, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			continue
		}
		if i+1 >= len(args) {
			return nil, fmt.Errorf("flag %s needs a value", a)
		}
		flags = append(flags, args[i+1])
		i++
	}
	if err := f.fs.Parse(flags); err != nil {
		return nil, err
	}
	return pos, nil
}

// Usage renders the command's usage and flags.
func (f *flagSet) Usage() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: kubectl %s\n", f.usage)
	if len(f.help) > 0 {
		b.WriteString("\nFlags:\n")
		lines := append([]string(nil), f.help...)
		sort.Strings(lines)
		for _, l := range lines {
			b.WriteString(strings.Replace(l, "\t", "  ", 1) + "\n")
		}
	}
	return b.String()
}
