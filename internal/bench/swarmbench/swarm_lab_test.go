package swarmbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"kubelite/internal/lab"
	"kubelite/internal/testutil"
)

// TestQuickOnLab runs the quick swarm row (what `kubelite bench --quick`
// runs) on a lab and checks that both systems were measured on every row
// and that nothing is left: no lab namespace, no registry, the machine's
// own engine still outside any Swarm. Needs root, Docker, the lab's tools
// and docker-registry: fails without them unless KUBELITE_SKIP_SYSTEM=1.
func TestQuickOnLab(t *testing.T) {
	lab.RequireSystem(t)
	if _, err := exec.LookPath("docker-registry"); err != nil {
		if os.Getenv(testutil.SkipSystemEnv) == "1" {
			t.Skipf("needs docker-registry: %v", err)
		}
		t.Fatalf("needs docker-registry (apt-get install docker-registry): %v", err)
	}
	hostSwarm := func() string {
		out, err := exec.Command("docker", "info", "--format", "{{.Swarm.LocalNodeState}}").CombinedOutput()
		if err != nil {
			t.Fatalf("docker info: %v: %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	before := hostSwarm()
	bin := testutil.KubeliteBinary(t)
	o := Quick(bin)
	o.Lab = lab.Config{Name: "swarmt", Minions: 2, Index: 10}
	var progress bytes.Buffer
	o.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := Run(ctx, o)
	t.Logf("progress:\n%s", progress.String())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := []string{"control plane memory, idle", "10 replicas: create to all answering",
		"10 replicas: scale to 20, all answering", "10 replicas: scale 20 back to 10",
		"memory holding 10 replicas (engines' growth included)",
		"service traffic, 10 replicas: requests/s, new connection each", "service traffic, 10 replicas: request p50",
		"service traffic, 10 replicas: requests/s, Swarm's DNS answer cached"}
	got := map[string]Row{}
	for _, r := range res.Rows {
		got[r.Name] = r
		t.Logf("%-60s kubelite %v swarm %v %s", r.Name, r.Kubelite, r.Swarm, r.Unit)
	}
	for _, name := range want {
		r, ok := got[name]
		if !ok {
			t.Errorf("no row %q", name)
			continue
		}
		if len(r.Kubelite) == 1 && len(r.Swarm) == 0 && swarmStuck(res.Notes, name) {
			// Swarm's own failure to converge (seen: 13 tasks Running for
			// minutes after a scale to 10), noted and left out by the bench.
			t.Logf("%s: Swarm did not converge; the bench noted it and left its figure out", name)
			continue
		}
		if len(r.Kubelite) != 1 || len(r.Swarm) != 1 {
			t.Errorf("%s: want one run of each system, got kubelite %v swarm %v", name, r.Kubelite, r.Swarm)
			continue
		}
		if r.Kubelite[0] <= 0 || (r.Unit == "s" && r.Swarm[0] <= 0) {
			t.Errorf("%s: kubelite %v swarm %v: want positive figures", name, r.Kubelite, r.Swarm)
		}
	}
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "IPVS") {
		t.Errorf("notes %q: want the IPVS note first", res.Notes)
	}
	// Nothing left behind.
	if out, _ := exec.Command("ip", "netns", "list").CombinedOutput(); strings.Contains(string(out), "klb-swarmt-") {
		t.Errorf("lab namespaces left: %s", out)
	}
	if out, _ := exec.Command("pgrep", "-af", "docker-registry serve").CombinedOutput(); strings.Contains(string(out), "/swarmt/") {
		t.Errorf("registry left running: %s", out)
	}
	if _, err := os.Stat("/var/lib/kubelite-lab/swarmt"); err == nil {
		t.Errorf("lab root /var/lib/kubelite-lab/swarmt left")
	}
	if after := hostSwarm(); after != before {
		t.Errorf("the machine's engine: swarm state %q before, %q after", before, after)
	}
}

// swarmStuck reports whether notes say Swarm did not converge in a run of
// the step named row (the bench's peerStuck note).
func swarmStuck(notes []string, row string) bool {
	for _, n := range notes {
		if strings.Contains(n, fmt.Sprintf("Swarm did not converge in one run of %q", row)) {
			return true
		}
	}
	return false
}
