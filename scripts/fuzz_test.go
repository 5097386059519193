package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeGo is a `go` for fuzz.sh: each invocation appends its arguments to
// calls and behaves as the next line of the plan file says (the last line
// again once the plan is used up):
//
//	pass     exit 0
//	race     go1.26's coordinator deadline race: a bare "context deadline
//	         exceeded", exit 1, nothing written
//	found    a failing input written to testdata/fuzz/TARGET/, exit 1
//	broken   any other failure (a test's own error), exit 1
//	racewrote the race's output, but an input written too
const fakeGo = `#!/bin/sh
dir=$(dirname "$0")
echo "$*" >> "$dir/calls"
n=$(wc -l < "$dir/calls")
mode=$(sed -n "${n}p" "$dir/plan")
[ -n "$mode" ] || mode=$(tail -n 1 "$dir/plan")
target=$(echo "$*" | sed -n 's/.*-fuzz \^\(Fuzz[A-Za-z0-9_]*\)\$.*/\1/p')
pkg=$(echo "$*" | awk '{print $NF}')
case $mode in
pass) echo "ok  	fake	10.0s"; exit 0 ;;
race) printf -- '--- FAIL: %s (10.03s)\n    context deadline exceeded\nFAIL\n' "$target"; exit 1 ;;
found) mkdir -p "$pkg/testdata/fuzz/$target"; echo 'go test fuzz v1' > "$pkg/testdata/fuzz/$target/0123abcd"
	printf -- '--- FAIL: %s (0.20s)\n    --- FAIL: %s (0.00s)\n        x_test.go:9: boom\n\n    Failing input written to testdata/fuzz/%s/0123abcd\nFAIL\n' "$target" "$target" "$target"; exit 1 ;;
racewrote) mkdir -p "$pkg/testdata/fuzz/$target"; echo 'go test fuzz v1' > "$pkg/testdata/fuzz/$target/4567cdef"
	printf -- '--- FAIL: %s (10.03s)\n    context deadline exceeded\nFAIL\n' "$target"; exit 1 ;;
broken) printf -- '--- FAIL: %s (0.01s)\n    x_test.go:5: seed corpus: boom\nFAIL\n' "$target"; exit 1 ;;
esac
echo "fake go: unknown mode $mode" >&2; exit 2
`

// TestFuzzScript runs scripts/fuzz.sh over a module of one package with
// one Fuzz target, with a fake go: what fails the run, what is fuzzed once
// more, what is reported and not counted.
func TestFuzzScript(t *testing.T) {
	script, err := filepath.Abs("fuzz.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		plan      string
		wantFail  bool
		wantCalls int
		wantOut   string
	}{
		{"passes", "pass", false, 1, "ok  \tfake"},
		{"a failing input fails the run", "found", true, 1, "FAIL: FuzzThing (./pkg)"},
		{"any other failure fails the run", "broken", true, 1, "FAIL: FuzzThing (./pkg)"},
		{"an input written fails the run, whatever the output", "racewrote", true, 1, "FAIL: FuzzThing (./pkg)"},
		{"the deadline race, then a pass", "race\npass", false, 2, "deadline race (golang/go#75804), no failing input: once more"},
		{"the deadline race twice: reported, not counted", "race", false, 2, "deadline race again (golang/go#75804), no failing input: not counted"},
		{"the deadline race, then a failing input", "race\nfound", true, 2, "FAIL: FuzzThing (./pkg)"},
		{"the deadline race, then another failure", "race\nbroken", true, 2, "FAIL: FuzzThing (./pkg)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mod := t.TempDir()
			bin := t.TempDir()
			write(t, filepath.Join(mod, "pkg", "x_test.go"), "package pkg\n\nimport \"testing\"\n\nfunc FuzzThing(f *testing.F) {}\n\nfunc TestOther(t *testing.T) {}\n")
			write(t, filepath.Join(bin, "go"), fakeGo)
			if err := os.Chmod(filepath.Join(bin, "go"), 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(bin, "plan"), c.plan+"\n")
			cmd := exec.Command("sh", script, "3s")
			cmd.Dir = mod
			cmd.Env = append(os.Environ(), "GO="+filepath.Join(bin, "go"))
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != c.wantFail {
				t.Errorf("failed %v, want %v: %v\n%s", failed, c.wantFail, err, out)
			}
			if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != 1 {
				t.Errorf("exit %d, want 1\n%s", ee.ExitCode(), out)
			}
			calls := readLines(t, filepath.Join(bin, "calls"))
			if len(calls) != c.wantCalls {
				t.Errorf("%d go invocations, want %d: %q", len(calls), c.wantCalls, calls)
			}
			for _, call := range calls {
				if call != "test -run ^$ -fuzz ^FuzzThing$ -fuzztime 3s ./pkg" {
					t.Errorf("go %s", call)
				}
			}
			if !strings.Contains(string(out), c.wantOut) {
				t.Errorf("output lacks %q:\n%s", c.wantOut, out)
			}
		})
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}
