package roles

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kubelite/internal/testutil"
)

// cleanupChildEnv marks the copy of the test binary that runs inside its
// own network namespace (see TestStandaloneCleanupIPTables).
const cleanupChildEnv = "KUBELITE_TEST_CLEANUP_CHILD"

// standalone --cleanup-iptables removes the proxy's chains and jumps and
// returns at once, starting nothing. It runs in a network namespace of its
// own (unshare -n) so the host's iptables are never touched.
func TestStandaloneCleanupIPTables(t *testing.T) {
	if os.Getenv(cleanupChildEnv) == "1" {
		cleanupChild(t)
		return
	}
	testutil.SystemTest(t, "root, unshare and iptables")
	testutil.RequireRoot(t)
	for _, bin := range []string{"unshare", "iptables", "iptables-save"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is needed: %v", bin, err)
		}
	}
	cmd := exec.Command("unshare", "-n", os.Args[0], "-test.run=^TestStandaloneCleanupIPTables$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), cleanupChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestStandaloneCleanupIPTables") {
		t.Fatalf("child in its own network namespace: %v\n%s", err, out)
	}
}

func cleanupChild(t *testing.T) {
	ipt := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			t.Fatalf("iptables %v: %v\n%s", args, err, out)
		}
	}
	// What a userspace-mode proxy leaves behind.
	ipt("-t", "nat", "-N", "KUBE-PROXY")
	ipt("-t", "nat", "-A", "KUBE-PROXY", "-d", "10.254.0.7/32", "-p", "tcp", "--dport", "8080", "-j", "REDIRECT", "--to-ports", "9000")
	ipt("-t", "nat", "-A", "OUTPUT", "-j", "KUBE-PROXY")
	ipt("-t", "nat", "-A", "PREROUTING", "-j", "KUBE-PROXY")

	dir := t.TempDir()
	cfg := standaloneAt(dir)
	cfg.Minion.CleanupIPTables = true
	var out bytes.Buffer
	if err := Standalone(context.Background(), cfg, &out); err != nil {
		t.Fatalf("standalone --cleanup-iptables: %v", err)
	}
	if got, want := out.String(), "removed kubelite's iptables chains and rules; no cluster was started\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
	save, err := exec.Command("iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v\n%s", err, save)
	}
	if strings.Contains(string(save), "KUBE-") {
		t.Errorf("kubelite's rules are left:\n%s", save)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("the data dir was created (a cluster started?): %v", err)
	}
}
