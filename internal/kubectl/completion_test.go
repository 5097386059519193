package kubectl

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"
)

// What completion offers is what kubectl accepts: every command and alias
// runs its --help, every flag parses, every resource word parses.
func TestCompletionMatchesCommands(t *testing.T) {
	cmds := Commands()
	if len(cmds) < 12 {
		t.Fatalf("%d commands", len(cmds))
	}
	for _, c := range cmds {
		for _, name := range append([]string{c.Name}, c.Aliases...) {
			r := &Runner{Stdout: io.Discard, Stderr: io.Discard}
			if err := r.Run(context.Background(), []string{name, "--help"}); err != nil {
				t.Errorf("%s --help: %v", name, err)
			}
		}
		for _, want := range []string{"--namespace", "--server", "--kubeconfig"} {
			if !slices.Contains(c.Flags, want) {
				t.Errorf("%s: no %s in %v", c.Name, want, c.Flags)
			}
		}
		for _, fl := range c.Flags {
			if !strings.HasPrefix(fl, "-") {
				t.Errorf("%s: flag %q without dashes", c.Name, fl)
			}
		}
	}
	get := cmds[slices.IndexFunc(cmds, func(c Command) bool { return c.Name == "get" })]
	if !get.TakesResource || !slices.Contains(get.Flags, "-w") || !slices.Contains(get.Flags, "--output") {
		t.Errorf("get: %+v", get)
	}
	words := ResourceWords()
	for _, w := range words {
		if _, err := parseResource(w); err != nil {
			t.Errorf("resource word %q: %v", w, err)
		}
	}
	for _, want := range []string{"pods", "replicationControllers", "rc", "minions", "services", "events", "endpoints"} {
		if !slices.Contains(words, want) {
			t.Errorf("no %q in %v", want, words)
		}
	}
}
