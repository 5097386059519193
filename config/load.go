package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// Files each role reads from --config-dir, in this order (a later file
// overrides an earlier one; the command line and environment override all).
var (
	MasterFiles     = []string{"config", "apiserver", "controller-manager", "scheduler"}
	MinionFiles     = []string{"config", "kubelet", "proxy"}
	StandaloneFiles = []string{"config", "apiserver", "controller-manager", "scheduler", "proxy"}
)

// System is what resolving a configuration needs from the machine.
type System struct {
	Hostname func() (string, error)
	UID      int    // effective user id
	Home     string // home directory, "" if unknown
	Getenv   func(string) string
}

// OS returns the System of this process.
func OS() System {
	home, _ := os.UserHomeDir()
	return System{Hostname: os.Hostname, UID: os.Geteuid(), Home: home, Getenv: os.Getenv}
}

// Setting is one flag's effective value and where it came from.
type Setting struct {
	Flag   string // primary name
	Value  string
	Source string // "default", "flag or environment", or "FILE:LINE"
}

// ReadFiles reads the named files from dir. A missing directory or file is
// not an error; any other read or syntax error is. It returns the arguments
// found and the paths of the files that existed.
func ReadFiles(dir string, names []string) ([]Arg, []string, error) {
	if dir == "" {
		return nil, nil, nil
	}
	var args []Arg
	var read []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read config file: %w", err)
		}
		a, err := ParseEnvFile(p, data)
		if err != nil {
			return nil, nil, err
		}
		read = append(read, p)
		args = append(args, a...)
	}
	return args, read, nil
}

// flagIndex maps every name and alias to its flag.
func flagIndex(flags []cli.Flag) map[string]cli.Flag {
	idx := map[string]cli.Flag{}
	for _, f := range flags {
		for _, n := range f.Names() {
			idx[n] = f
		}
	}
	return idx
}

func takesValue(f cli.Flag) bool {
	if tv, ok := f.(interface{ TakesValue() bool }); ok {
		return tv.TakesValue()
	}
	return true
}

// applyArgs sets, through cCtx, every flag the file arguments name that was
// not already set on the command line or in the environment. It returns the
// file argument each flag's value came from.
func applyArgs(cCtx *cli.Context, flags []cli.Flag, args []Arg, role string) (map[string]Arg, error) {
	idx := flagIndex(flags)
	preset := map[string]bool{}
	for _, f := range flags {
		if cCtx.IsSet(f.Names()[0]) {
			preset[f.Names()[0]] = true
		}
	}
	src := map[string]Arg{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		fail := func(format string, v ...any) error {
			return &FileError{File: a.File, Line: a.Line, Msg: fmt.Sprintf(format, v...)}
		}
		text := a.Text
		if !strings.HasPrefix(text, "-") || text == "-" || text == "--" {
			if i > 0 && args[i-1].Line == a.Line && args[i-1].File == a.File && strings.HasSuffix(args[i-1].Text, "=") {
				return nil, fail("unexpected %q after %s (remove the space after '=')", text, args[i-1].Text)
			}
			return nil, fail("unexpected %q in %s: values must be flags like --name=value", text, a.Var)
		}
		body := strings.TrimPrefix(strings.TrimPrefix(text, "-"), "-")
		name, value, hasValue := strings.Cut(body, "=")
		f, ok := idx[name]
		if !ok {
			hint := ""
			if _, ok := idx[strings.ToLower(name)]; ok && name != strings.ToLower(name) {
				hint = fmt.Sprintf(" (flag names are lower case: --%s)", strings.ToLower(name))
			}
			return nil, fail("unknown flag --%s for kubelite %s%s", name, role, hint)
		}
		primary := f.Names()[0]
		if !hasValue {
			if takesValue(f) {
				if i+1 < len(args) && args[i+1].File == a.File && args[i+1].Line == a.Line && !strings.HasPrefix(args[i+1].Text, "-") {
					i++
					value = args[i].Text
				} else {
					return nil, fail("flag --%s needs a value: --%s=VALUE", name, name)
				}
			} else {
				value = "true"
			}
		}
		if preset[primary] {
			continue // the command line and the environment win over files
		}
		if err := cCtx.Set(primary, value); err != nil {
			return nil, fail("invalid value %q for --%s", value, name)
		}
		src[primary] = a
	}
	return src, nil
}

// settings lists every flag's effective value and its source.
func settings(cCtx *cli.Context, flags []cli.Flag, src map[string]Arg, preset func(string) bool) []Setting {
	var out []Setting
	for _, f := range flags {
		name := f.Names()[0]
		if name == "help" {
			continue
		}
		s := Setting{Flag: name, Value: fmt.Sprint(cCtx.Value(name)), Source: "default"}
		if a, ok := src[name]; ok {
			s.Source = a.Where()
		} else if preset(name) {
			s.Source = "flag or environment"
		}
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Flag < out[j].Flag })
	return out
}

// FormatSettings renders settings one per line: --flag=value  # source.
func FormatSettings(ss []Setting) string {
	var b strings.Builder
	for _, s := range ss {
		v := s.Value
		if s.Flag == "token" && v != "" {
			v = redactToken(v)
		}
		fmt.Fprintf(&b, "--%s=%s  # %s\n", s.Flag, v, s.Source)
	}
	return b.String()
}

// redactToken keeps a join token's CA hash (public) and hides its secret.
func redactToken(t string) string {
	if h, _, ok := strings.Cut(t, "::"); ok {
		return h + "::<secret>"
	}
	return "<secret>"
}

// load is the part every role shares: check there are no stray arguments,
// read the files, apply them, and record where each value came from.
func load(cCtx *cli.Context, role, dir string, files []string) (map[string]Arg, []string, []Setting, error) {
	if cCtx.Args().Present() {
		return nil, nil, nil, fmt.Errorf("kubelite %s takes no arguments, got %q (flags look like --name=value)", role, cCtx.Args().First())
	}
	flags := cCtx.Command.Flags
	preset := map[string]bool{}
	for _, f := range flags {
		preset[f.Names()[0]] = cCtx.IsSet(f.Names()[0])
	}
	args, read, err := ReadFiles(dir, files)
	if err != nil {
		return nil, nil, nil, err
	}
	src, err := applyArgs(cCtx, flags, args, role)
	if err != nil {
		return nil, nil, nil, err
	}
	return src, read, settings(cCtx, flags, src, func(n string) bool { return preset[n] }), nil
}
