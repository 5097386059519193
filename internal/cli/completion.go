package cli

import (
	"fmt"
	"sort"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"kubelite/internal/kubectl"
)

// compCmd is a command as completion sees it: its flags (every spelling,
// with dashes) and subcommands.
type compCmd struct {
	Name  string
	Usage string
	Flags []string
	Subs  []compCmd
}

// completionSpec reads the visible commands of app (kubectl's own
// subcommands come from internal/kubectl).
func completionSpec(cmds []*ucli.Command) []compCmd {
	var out []compCmd
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		cc := compCmd{Name: c.Name, Usage: c.Usage, Subs: completionSpec(c.Subcommands)}
		for _, f := range c.Flags {
			if v, ok := f.(ucli.VisibleFlag); ok && !v.IsVisible() {
				continue
			}
			for _, n := range f.Names() {
				if len(n) == 1 {
					cc.Flags = append(cc.Flags, "-"+n)
				} else {
					cc.Flags = append(cc.Flags, "--"+n)
				}
			}
		}
		sort.Strings(cc.Flags)
		out = append(out, cc)
	}
	return out
}

// completionScript renders the completion of shell for cmds.
func completionScript(shell string, cmds []compCmd) (string, error) {
	switch shell {
	case "bash":
		return bashCompletion(cmds), nil
	case "zsh":
		return "#compdef kubelite\n# zsh completion for kubelite: kubelite completion zsh > \"${fpath[1]}/_kubelite\"\n" +
			"# (the bash function, through zsh's bashcompinit)\nautoload -U +X bashcompinit && bashcompinit\n\n" +
			bashFunction(cmds) + "\ncomplete -F _kubelite kubelite\n", nil
	case "fish":
		return fishCompletion(cmds), nil
	}
	return "", fmt.Errorf("completion: want bash, zsh or fish, not %q", shell)
}

func bashCompletion(cmds []compCmd) string {
	return "# bash completion for kubelite: source <(kubelite completion bash)\n" +
		"# or: kubelite completion bash > /etc/bash_completion.d/kubelite\n\n" +
		bashFunction(cmds) + "\ncomplete -F _kubelite kubelite\n"
}

func words(list []string) string { return strings.Join(list, " ") }

// bashFunction is _kubelite: it finds the command word (and kubectl's
// subcommand, skipping the values of flags that take one) and offers the
// words that may come next.
func bashFunction(cmds []compCmd) string {
	var b strings.Builder
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	kcmds := kubectl.Commands()
	var knames, kvalued []string
	kvaluedSeen := map[string]bool{}
	for _, c := range kcmds {
		knames = append(knames, c.Name)
		knames = append(knames, c.Aliases...)
		for _, v := range c.ValueFlags {
			if !kvaluedSeen[v] {
				kvaluedSeen[v] = true
				kvalued = append(kvalued, v)
			}
		}
	}
	sort.Strings(kvalued)
	b.WriteString(`_kubelite() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local cmd="" sub="" nargs=0 i w skip=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        if [[ -n $skip ]]; then skip=""; continue; fi
        if [[ $w == -* ]]; then
            # kubectl's flags that take a value take the next word
            if [[ $cmd == kubectl && $w != *=* ]]; then
                case "$w" in
                    ` + strings.Join(kvalued, "|") + `) skip=1 ;;
                esac
            fi
            continue
        fi
        if [[ -z $cmd ]]; then cmd="$w"
        elif [[ -z $sub ]]; then sub="$w"
        else nargs=$((nargs + 1))
        fi
    done
    local words=""
    case "$cmd" in
    "") words="` + words(names) + ` help" ;;
    kubectl)
        case "$sub" in
        "") words="` + words(knames) + ` help" ;;
        help) words="` + words(knames) + `" ;;
`)
	for _, c := range kcmds {
		pat := strings.Join(append([]string{c.Name}, c.Aliases...), "|")
		fmt.Fprintf(&b, "        %s) words=%q", pat, words(c.Flags))
		if c.TakesResource {
			fmt.Fprintf(&b, "; [[ $nargs == 0 && $cur != -* ]] && words=%q", words(kubectl.ResourceWords()))
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString("        esac ;;\n")
	for _, c := range cmds {
		if c.Name == "kubectl" {
			continue
		}
		if len(c.Subs) == 0 {
			fmt.Fprintf(&b, "    %s) words=%q ;;\n", c.Name, words(c.Flags))
			continue
		}
		fmt.Fprintf(&b, "    %s)\n        case \"$sub\" in\n", c.Name)
		var subs []string
		for _, s := range c.Subs {
			if s.Name == "help" {
				continue
			}
			subs = append(subs, s.Name)
			fmt.Fprintf(&b, "        %s) words=%q ;;\n", s.Name, words(s.Flags))
		}
		fmt.Fprintf(&b, "        *) words=%q ;;\n        esac ;;\n", words(append(subs, c.Flags...)))
	}
	b.WriteString(`    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
`)
	return b.String()
}

// fishCompletion is the same knowledge as complete(1) lines for fish.
func fishCompletion(cmds []compCmd) string {
	var b strings.Builder
	b.WriteString("# fish completion for kubelite: kubelite completion fish > ~/.config/fish/completions/kubelite.fish\n")
	b.WriteString("complete -c kubelite -f\n")
	var all []string
	for _, c := range cmds {
		all = append(all, c.Name)
	}
	top := "not __fish_seen_subcommand_from " + words(all)
	for _, c := range cmds {
		fmt.Fprintf(&b, "complete -c kubelite -n %s -a %s -d %s\n", fishQuote(top), c.Name, fishQuote(c.Usage))
	}
	flagLine := func(cond, f string) {
		switch {
		case strings.HasPrefix(f, "--"):
			fmt.Fprintf(&b, "complete -c kubelite -n %s -l %s\n", fishQuote(cond), f[2:])
		case len(f) == 2:
			fmt.Fprintf(&b, "complete -c kubelite -n %s -s %s\n", fishQuote(cond), f[1:])
		default:
			fmt.Fprintf(&b, "complete -c kubelite -n %s -o %s\n", fishQuote(cond), f[1:])
		}
	}
	for _, c := range cmds {
		if c.Name == "kubectl" {
			continue
		}
		var subs []string
		for _, s := range c.Subs {
			if s.Name != "help" {
				subs = append(subs, s.Name)
			}
		}
		here := "__fish_seen_subcommand_from " + c.Name
		if len(subs) > 0 {
			fmt.Fprintf(&b, "complete -c kubelite -n %s -a %s\n", fishQuote(here+"; and not __fish_seen_subcommand_from "+words(subs)), fishQuote(words(subs)))
			for _, s := range c.Subs {
				for _, f := range s.Flags {
					flagLine(here+"; and __fish_seen_subcommand_from "+s.Name, f)
				}
			}
			here += "; and not __fish_seen_subcommand_from " + words(subs)
		}
		for _, f := range c.Flags {
			flagLine(here, f)
		}
	}
	kcmds := kubectl.Commands()
	var knames, kres []string
	for _, c := range kcmds {
		knames = append(knames, c.Name)
		knames = append(knames, c.Aliases...)
		if c.TakesResource {
			kres = append(kres, c.Name)
			kres = append(kres, c.Aliases...)
		}
	}
	k := "__fish_seen_subcommand_from kubectl"
	fmt.Fprintf(&b, "complete -c kubelite -n %s -a %s\n", fishQuote(k+"; and not __fish_seen_subcommand_from "+words(knames)), fishQuote(words(knames)+" help"))
	fmt.Fprintf(&b, "complete -c kubelite -n %s -a %s\n", fishQuote(k+"; and __fish_seen_subcommand_from "+words(kres)), fishQuote(words(kubectl.ResourceWords())))
	for _, c := range kcmds {
		for _, f := range c.Flags {
			flagLine(k+"; and __fish_seen_subcommand_from "+strings.Join(append([]string{c.Name}, c.Aliases...), " "), f)
		}
	}
	return b.String()
}

// fishQuote single-quotes s for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// completionCommand: `kubelite completion bash|zsh|fish`.
func completionCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:      "completion",
		Category:  catTools,
		Usage:     "print the shell completion of kubelite (roles, their flags, kubectl's commands and resources): bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: "  source <(kubelite completion bash)        # or > /etc/bash_completion.d/kubelite\n" +
			"  kubelite completion zsh > \"${fpath[1]}/_kubelite\"\n" +
			"  kubelite completion fish > ~/.config/fish/completions/kubelite.fish",
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("completion: want one shell: bash, zsh or fish")
			}
			s, err := completionScript(c.Args().First(), completionSpec(c.App.Commands))
			if err != nil {
				return err
			}
			_, err = fmt.Fprint(e.stdout, s)
			return err
		},
	}
}
