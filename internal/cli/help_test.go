package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kubelite/internal/version"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// TestHelpGolden keeps the command line's surface reviewable: every role's
// flags, grouped by area, with defaults and environment variables.
func TestHelpGolden(t *testing.T) {
	for _, tc := range []struct{ name string }{
		{"kubelite"}, {"master"}, {"minion"}, {"standalone"}, {"doctor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"kubelite", tc.name, "--help"}
			if tc.name == "kubelite" {
				args = []string{"kubelite", "--help"}
			}
			out, _, err := run(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			out = strings.ReplaceAll(out, version.Get().String(), "VERSION")
			path := filepath.Join("testdata", "help", tc.name+".golden")
			if *update {
				os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./internal/cli -update)", err)
			}
			if string(want) != out {
				t.Errorf("%s differs (go test ./internal/cli -update to accept):\n%s", path, out)
			}
		})
	}
}
