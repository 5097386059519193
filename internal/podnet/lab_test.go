package podnet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"kubelite/internal/lab"
	"kubelite/internal/netfilter"
	"kubelite/internal/testutil"
)

// helperEnv carries a helperJob to the test binary re-run inside a lab host's
// namespace (TestMain), where the real IPRoutes and netfilter.Runner act on
// that host's routes and iptables.
const helperEnv = "KUBELITE_PODNET_HELPER"

type helperJob struct {
	Config   Config
	Minions  []Minion
	Teardown bool
}

func TestMain(m *testing.M) {
	if job := os.Getenv(helperEnv); job != "" {
		if err := runHelper(job); err != nil {
			fmt.Fprintln(os.Stderr, "podnet helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(testutil.NoLeaks(m).Run())
}

func runHelper(job string) error {
	var j helperJob
	if err := json.Unmarshal([]byte(job), &j); err != nil {
		return err
	}
	ipt, err := netfilter.New()
	if err != nil {
		return err
	}
	s, err := New(j.Config, IPRoutes{}, ipt)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if j.Teardown {
		return s.Teardown(ctx)
	}
	plan, err := s.Sync(ctx, j.Minions)
	if err != nil {
		return err
	}
	if len(plan.Problems) > 0 {
		return fmt.Errorf("problems: %q", plan.Problems)
	}
	return nil
}

// TestPodNetworkInLab builds a 1+2 lab, gives each minion a Docker network
// with its pod subnet (Docker's own masquerading left on) and a pod, runs
// podnet on each minion, and checks: pod to pod across minions by pod IP
// without NAT, pod to a host outside the cluster masqueraded, twice-run sync
// stable, teardown removes routes and chains.
func TestPodNetworkInLab(t *testing.T) {
	const image = "kubelite-podnet-echo:test"
	lab.RequireSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := lab.BuildEcho(t, image)
	l := lab.ForTest(t, lab.Config{Name: "podnet", Minions: 2, Index: 4})
	if err := l.LoadImages(ctx, image); err != nil {
		t.Fatal(err)
	}
	cluster := netip.MustParsePrefix("10.244.0.0/16")
	var minions []Minion
	for i, h := range l.Minions() {
		subnet := fmt.Sprintf("10.244.%d.0/24", i+1)
		minions = append(minions, Minion{Name: h.Name, HostIP: h.Addr, PodCIDR: netip.MustParsePrefix(subnet)})
		docker(ctx, t, l, h, "network", "create", "--subnet", subnet, "kubelite-pods")
		docker(ctx, t, l, h, "run", "-d", "--name", "pod", "--network", "kubelite-pods",
			"--ip", fmt.Sprintf("10.244.%d.10", i+1), image, "-name", h.Name)
	}
	m1, m2 := l.Minion(1), l.Minion(2)
	get := func(from *lab.Host, url string) (string, error) {
		out, err := l.Docker(ctx, from, "run", "--rm", "--network", "kubelite-pods", image, "-get", url)
		return string(out), err
	}
	// Without podnet, pods on different minions do not reach each other.
	if out, err := get(m1, "http://10.244.2.10/"); err == nil {
		t.Fatalf("pod on minion1 reaches minion2's pod before podnet: %q", out)
	}

	for range 2 { // the second run must find nothing to change and still succeed
		for _, h := range l.Minions() {
			helper(ctx, t, l, h, helperJob{Config: Config{Self: h.Name, HostIP: h.Addr, ClusterCIDR: cluster}, Minions: minions})
		}
	}
	out, err := l.Exec(ctx, m1, "ip", "route", "show", "proto", "77")
	if err != nil || strings.TrimSpace(string(out)) != "10.244.2.0/24 via "+m2.Addr.String()+" dev eth0" {
		t.Fatalf("minion1's pod routes: %q %v", out, err)
	}

	// Pod to pod across minions, by pod IP, and the server sees the pod's own address.
	for _, c := range []struct {
		from     *lab.Host
		url      string
		answer   string
		fromAddr string
	}{
		{m1, "http://10.244.2.10/", "minion2 ", "from 10.244.1."},
		{m2, "http://10.244.1.10/", "minion1 ", "from 10.244.2."},
	} {
		out, err := get(c.from, c.url)
		if err != nil || !strings.HasPrefix(out, c.answer) || !strings.Contains(out, c.fromAddr) {
			t.Fatalf("%s: get %s: %q %v, want %q... %q", c.from.Name, c.url, out, err, c.answer, c.fromAddr)
		}
	}

	// Pod to a host outside the cluster range: masqueraded to the minion's address.
	if _, err := l.Start(l.Master(), "echo", bin, "-addr", ":9000", "-name", "master"); err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Master().Addr.String() + ":9000/"
	var answer string
	testutil.Eventually(t, 10*time.Second, func() error {
		answer, err = get(m1, url)
		return err
	}, "pod to master %s", url)
	if !strings.Contains(answer, "from "+m1.Addr.String()+":") {
		t.Fatalf("pod to master: %q, want it from %s", answer, m1.Addr)
	}

	// Teardown removes routes and chains; pods across minions are apart again.
	helper(ctx, t, l, m1, helperJob{Config: Config{Self: m1.Name, HostIP: m1.Addr, ClusterCIDR: cluster}, Teardown: true})
	if out, err := l.Exec(ctx, m1, "ip", "route", "show", "proto", "77"); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("routes after teardown: %q %v", out, err)
	}
	for _, table := range []string{"nat", "filter"} {
		out, err := l.Exec(ctx, m1, "iptables-save", "-t", table)
		if err != nil || strings.Contains(string(out), "KUBELITE-PODNET") {
			t.Fatalf("%s after teardown: %v\n%s", table, err, out)
		}
	}
	if out, err := get(m1, "http://10.244.2.10/"); err == nil {
		t.Fatalf("pod on minion1 reaches minion2's pod after teardown: %q", out)
	}
}

func docker(ctx context.Context, t *testing.T, l *lab.Lab, h *lab.Host, args ...string) {
	t.Helper()
	if out, err := l.Docker(ctx, h, args...); err != nil {
		t.Fatalf("%s: docker %s: %v: %s", h.Name, strings.Join(args, " "), err, out)
	}
}

// helper runs job in host h's network namespace through this test binary.
func helper(ctx context.Context, t *testing.T, l *lab.Lab, h *lab.Host, job helperJob) {
	t.Helper()
	b, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "nsenter", "--net="+h.NSPath, "--", os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+string(b))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("podnet on %s: %v: %s", h.Name, err, out)
	}
}
