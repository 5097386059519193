package api

import (
	"regexp"
	"testing"
)

// The regular expressions names.go's loops replace: the grammar as written
// in Kubernetes v0.6, kept here as the oracle.
var nameGrammars = []struct {
	name string
	re   *regexp.Regexp
	fn   func(string) bool
}{
	{"dns1123Label", regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`), isDNS1123LabelChars},
	{"dns952Label", regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`), isDNS952LabelChars},
	{"dns1123Subdomain", regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`), isDNS1123SubdomainChars},
	{"qualifiedName", regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`), isQualifiedNameChars},
	{"envVarName", regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`), isEnvVarName},
}

// Every string of up to 4 bytes over an alphabet holding one character of
// each class the grammars tell apart agrees with the regular expression.
func TestNameGrammarsMatchTheirRegexps(t *testing.T) {
	alphabet := []byte{'a', 'z', 'A', 'Z', '0', '9', '-', '.', '_', '/', ' ', '\n', 0xc3}
	var words []string
	var gen func(prefix []byte)
	gen = func(prefix []byte) {
		words = append(words, string(prefix))
		if len(prefix) == 4 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix, c))
		}
	}
	gen(nil)
	for _, g := range nameGrammars {
		for _, w := range words {
			if got, want := g.fn(w), g.re.MatchString(w); got != want {
				t.Fatalf("%s(%q) = %v, the regexp says %v", g.name, w, got, want)
			}
		}
	}
}

func FuzzNameGrammars(f *testing.F) {
	for _, s := range []string{"", "a", "a-b", "-a", "a.b.c", "a..b", "A_b.c-9", "_X1", "9x", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, g := range nameGrammars {
			if got, want := g.fn(s), g.re.MatchString(s); got != want {
				t.Fatalf("%s(%q) = %v, the regexp says %v", g.name, s, got, want)
			}
		}
	})
}
