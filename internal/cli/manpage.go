package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"kubelite/internal/kubectl"
)

// manPages renders kubelite.1 and one page per visible command
// (kubelite-master.1, ...) from the command line's own definitions, as
// troff (urfave/cli's ToMan through go-md2man).
func manPages(app *ucli.App) (map[string]string, error) {
	pages := map[string]string{}
	top := &ucli.App{Name: "kubelite", Usage: app.Usage, Description: app.Description,
		UsageText: "kubelite COMMAND [OPTIONS]", HideHelp: true, HideHelpCommand: true}
	for _, c := range app.Commands {
		if !c.Hidden {
			top.Commands = append(top.Commands, &ucli.Command{Name: c.Name, Usage: c.Usage + " (see kubelite-" + c.Name + "(1))", HideHelp: true})
		}
	}
	page, err := top.ToManWithSection(1)
	if err != nil {
		return nil, fmt.Errorf("man page kubelite.1: %w", err)
	}
	pages["kubelite.1"] = page
	for _, c := range app.Commands {
		if c.Hidden {
			continue
		}
		desc := c.Description
		if c.Name == "kubectl" {
			desc = "Invoked as kubectl (a symlink), the binary is kubelite kubectl.\n\n```\n" + kubectl.Usage() + "```\n"
		}
		usage := "kubelite " + c.Name + " [OPTIONS]"
		if c.ArgsUsage != "" {
			usage = "kubelite " + c.Name + " " + c.ArgsUsage
		}
		sub := &ucli.App{Name: "kubelite-" + c.Name, Usage: c.Usage, Description: desc, UsageText: usage,
			Flags: visibleFlags(c.Flags), HideHelp: true, HideHelpCommand: true}
		for _, s := range c.Subcommands {
			if !s.Hidden && s.Name != "help" {
				sub.Commands = append(sub.Commands, &ucli.Command{Name: s.Name, Usage: s.Usage, Flags: visibleFlags(s.Flags), HideHelp: true})
			}
		}
		page, err := sub.ToManWithSection(1)
		if err != nil {
			return nil, fmt.Errorf("man page kubelite-%s.1: %w", c.Name, err)
		}
		pages["kubelite-"+c.Name+".1"] = page
	}
	return pages, nil
}

func visibleFlags(flags []ucli.Flag) []ucli.Flag {
	var out []ucli.Flag
	for _, f := range flags {
		if v, ok := f.(ucli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		out = append(out, f)
	}
	return out
}

// manCommand: `kubelite man --dir DIR` (make man) writes the man pages.
func manCommand(e *env) *ucli.Command {
	var dir string
	return &ucli.Command{
		Name:   "man",
		Hidden: true,
		Usage:  "write kubelite's man pages (kubelite.1, kubelite-ROLE.1, ...) into --dir",
		Flags:  []ucli.Flag{&ucli.StringFlag{Name: "dir", Value: "man", Destination: &dir, Usage: "directory to write the pages into"}},
		Action: func(c *ucli.Context) error {
			pages, err := manPages(c.App)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("man: %w", err)
			}
			var names []string
			for name, page := range pages {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(page), 0o644); err != nil {
					return fmt.Errorf("man: %w", err)
				}
				names = append(names, name)
			}
			sort.Strings(names)
			_, err = fmt.Fprintf(e.stdout, "wrote %d man pages into %s: %s\n", len(names), dir, strings.Join(names, " "))
			return err
		},
	}
}
