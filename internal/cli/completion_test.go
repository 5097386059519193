package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goldenFile compares got with testdata/NAME (-update rewrites it).
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/cli -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test ./internal/cli -update to accept):\n%s", path, got)
	}
}

// The scripts' shape, for review: a fixed small CLI (a role, a command
// with subcommands, kubectl's real commands). TestBashCompletionInBash
// runs the real CLI's script.
func TestCompletionGolden(t *testing.T) {
	spec := []compCmd{
		{Name: "master", Usage: "run the master", Flags: []string{"--etcd-embed", "--etcd_embed", "--port", "-v"}},
		{Name: "kubectl", Usage: "the v0.6 CLI"},
		{Name: "doctor", Usage: "check this machine", Flags: []string{"--mode"}, Subs: []compCmd{
			{Name: "master", Flags: []string{"--etcd-embed"}}, {Name: "minion", Flags: []string{"--master"}}, {Name: "help"}}},
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, err := completionScript(shell, spec)
		if err != nil {
			t.Fatalf("completion %s: %v", shell, err)
		}
		goldenFile(t, "completion/kubelite."+shell, out)
		if _, _, err := run(t, "kubelite", "completion", shell); err != nil {
			t.Errorf("kubelite completion %s: %v", shell, err)
		}
	}
	if _, _, err := run(t, "kubelite", "completion", "tcsh"); err == nil || !strings.Contains(err.Error(), "want bash, zsh or fish") {
		t.Errorf("completion tcsh: %v", err)
	}
}

// The bash script, sourced in bash, registers _kubelite for kubelite, and
// COMP_WORDS drive it as bash does on TAB.
func TestBashCompletionInBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed: %v", err)
	}
	script, _, err := run(t, "kubelite", "completion", "bash")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubelite.bash")
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		words []string // the last one is being completed
		want  string   // COMPREPLY, space separated
	}{
		{[]string{"kubelite", "ma"}, "master"},
		{[]string{"kubelite", "st"}, "standalone"},
		{[]string{"kubelite", "c"}, "completion"},
		{[]string{"kubelite", "master", "--etcd-e"}, "--etcd-embed"},
		{[]string{"kubelite", "minion", "--hostname_"}, "--hostname_override"},
		{[]string{"kubelite", "standalone", "--cleanup-"}, "--cleanup-iptables"},
		{[]string{"kubelite", "kubectl", "ge"}, "get"},
		{[]string{"kubelite", "kubectl", "ro"}, "rollingupdate rolling-update"},
		{[]string{"kubelite", "kubectl", "get", "mi"}, "mi minion minions"},
		{[]string{"kubelite", "kubectl", "-s", "http://m:8080", "describe", "replicationC"}, "replicationControllers"},
		{[]string{"kubelite", "kubectl", "--namespace=x", "delete", "se"}, "se service services"},
		{[]string{"kubelite", "kubectl", "get", "pods", "--wa"}, "--watch"},
		{[]string{"kubelite", "kubectl", "get", "pods", "x"}, ""},
		{[]string{"kubelite", "kubectl", "help", "des"}, "describe"},
		{[]string{"kubelite", "doctor", "m"}, "master minion"},
		{[]string{"kubelite", "doctor", "--mo"}, "--mode"},
		{[]string{"kubelite", "doctor", "minion", "--mas"}, "--master"},
	} {
		var quoted []string
		for _, w := range tc.words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := `source "$1" || exit 1
complete -p kubelite
COMP_WORDS=(` + strings.Join(quoted, " ") + `); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_kubelite
echo "reply:${COMPREPLY[*]}"`
		out, err := exec.Command(bash, "-c", prog, "bash", path).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if lines[0] != "complete -F _kubelite kubelite" {
			t.Errorf("complete -p kubelite: %q", lines[0])
		}
		if got := strings.TrimPrefix(lines[len(lines)-1], "reply:"); got != tc.want {
			t.Errorf("%v: completed %q, want %q", tc.words, got, tc.want)
		}
	}
}

// make man's pages: kubelite.1 and one per command, troff from the CLI
// definitions; man renders each (when man is installed).
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	out, _, err := run(t, "kubelite", "man", "--dir", dir)
	if err != nil {
		t.Fatalf("man: %v", err)
	}
	want := []string{"kubelite.1", "kubelite-master.1", "kubelite-minion.1", "kubelite-standalone.1", "kubelite-kubectl.1", "kubelite-doctor.1", "kubelite-completion.1"}
	for _, name := range want {
		if !strings.Contains(out, name) {
			t.Errorf("man wrote no %s: %s", name, out)
		}
	}
	for _, name := range []string{"kubelite.1", "kubelite-minion.1", "kubelite-kubectl.1"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		goldenFile(t, "man/"+name, string(b))
	}
	man, err := exec.LookPath("man")
	if err != nil {
		t.Logf("man is not installed: pages not rendered (%v)", err)
		return
	}
	for _, name := range want {
		cmd := exec.Command(man, "-l", filepath.Join(dir, name))
		cmd.Env = append(os.Environ(), "MANWIDTH=100", "MANPAGER=cat", "PAGER=cat")
		page, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("man -l %s: %v\n%s", name, err, page)
			continue
		}
		text := string(page)
		if !strings.Contains(text, "NAME") || !strings.Contains(text, strings.TrimSuffix(name, ".1")) || strings.Contains(text, "warning") {
			t.Errorf("man -l %s rendered:\n%s", name, text)
		}
	}
}
