package config

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// Arg is one command-line argument found in a config file, with where it
// came from so that errors can name the file and line.
type Arg struct {
	File string // path of the file, as read
	Line int    // 1-based line number
	Var  string // the variable it was assigned to, e.g. KUBE_API_PORT
	Text string // the argument itself, e.g. "--port=8080"
}

// Where returns "file:line".
func (a Arg) Where() string { return fmt.Sprintf("%s:%d", a.File, a.Line) }

// FileError is an error about one line of a config file.
type FileError struct {
	File string
	Line int
	Msg  string
}

func (e *FileError) Error() string {
	return fmt.Sprintf("config file %s line %d: %s", e.File, e.Line, e.Msg)
}

// ParseEnvFile parses the tutorial's /etc/kubernetes file format: lines of
// NAME="--flag=value --other=value", blank lines and # comments. The value may
// be double-quoted (backslash escapes \" \\ \$ \`), single-quoted (literal),
// or bare; spaces around '=' and a leading "export " are tolerated; a value
// holds any number of arguments separated by white space, exactly as
// systemd splits an unbraced $NAME in ExecStart. Empty values give no
// arguments. name is only used in Arg.File and errors.
func ParseEnvFile(name string, data []byte) ([]Arg, error) {
	var args []Arg
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if lineNo == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fail := func(format string, a ...any) error {
			return &FileError{File: name, Line: lineNo, Msg: fmt.Sprintf(format, a...)}
		}
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			line = strings.TrimSpace(rest)
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			return nil, fail("expected NAME=\"--flag=value\", got %q", line)
		}
		varName := strings.TrimSpace(line[:eq])
		if !validVarName(varName) {
			return nil, fail("invalid variable name %q (letters, digits and _ only)", varName)
		}
		value, err := unquote(strings.TrimLeft(line[eq+1:], " \t"))
		if err != nil {
			return nil, fail("%s: %v", varName, err)
		}
		for _, f := range strings.Fields(value) {
			args = append(args, Arg{File: name, Line: lineNo, Var: varName, Text: f})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read config file %s: %w", name, err)
	}
	return args, nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// unquote reads one value: a sequence of bare, "double" and 'single' quoted
// pieces (as a shell would join them), ended by white space followed by
// nothing or a # comment.
func unquote(s string) (string, error) {
	var b strings.Builder
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\"\\$`", s[j+1]) >= 0 {
					b.WriteByte(s[j+1])
					j += 2
					continue
				}
				if s[j] == '"' {
					closed = true
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				return "", fmt.Errorf("unterminated double quote")
			}
			i = j + 1
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+end])
			i += end + 2
		case c == ' ' || c == '\t':
			rest := strings.TrimLeft(s[i:], " \t")
			if rest != "" && !strings.HasPrefix(rest, "#") {
				return "", fmt.Errorf("unexpected text %q after the value (quote values that contain spaces)", rest)
			}
			return b.String(), nil
		case c == '\\' && i+1 < len(s):
			b.WriteByte(s[i+1])
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}
