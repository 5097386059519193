package kubectl

import (
	"sort"
	"strings"

	"kubelite/internal/api"
)

// Command is one kubectl subcommand as shell completion sees it.
type Command struct {
	Name    string
	Aliases []string
	Flags   []string // every spelling, with dashes: "-o", "--output"
	// ValueFlags are the Flags that take a value (the next word).
	ValueFlags []string
	// TakesResource: the first argument is a resource word (get, describe,
	// delete, stop).
	TakesResource bool
}

// Commands lists kubectl's subcommands, sorted, each with its own flags and
// the global ones (-s, --namespace, ...): what `kubelite completion`
// offers.
func Commands() []Command {
	r := &Runner{}
	var out []Command
	for _, c := range r.commands() {
		f := newFlagSet(c.name, c.short)
		e := &env{Runner: r}
		e.g.register(f, !c.noServerShort, "")
		c.setup(f)
		var flags, valued []string
		seen := map[string]bool{}
		for _, line := range f.help {
			names, _, _ := strings.Cut(strings.TrimSpace(line), "\t")
			for _, n := range strings.Split(names, ", ") {
				if seen[n] {
					continue
				}
				seen[n] = true
				flags = append(flags, n)
				fl := f.fs.Lookup(strings.TrimLeft(n, "-"))
				if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
					valued = append(valued, n)
				}
			}
		}
		sort.Strings(flags)
		sort.Strings(valued)
		out = append(out, Command{Name: c.name, Aliases: c.aliases, Flags: flags, ValueFlags: valued,
			TakesResource: c.name == "get" || c.name == "describe" || c.name == "delete" || c.name == "stop"})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ResourceWords are the resource names kubectl takes, short forms too.
func ResourceWords() []string {
	words := map[string]bool{}
	for _, r := range []api.Resource{api.Pods, api.ReplicationControllers, api.Services, api.Minions, api.Events, api.EndpointsResource} {
		words[string(r)] = true
	}
	for _, w := range []string{"pod", "po", "rc", "replicationcontrollers", "service", "se", "svc", "minion", "mi", "nodes", "node", "ev", "event"} {
		if _, err := parseResource(w); err == nil {
			words[w] = true
		}
	}
	out := make([]string, 0, len(words))
	for w := range words {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// Usage is what `kubectl help` prints.
func Usage() string { return (&Runner{}).usage() }
