package lab

import (
	"context"
	"fmt"
	"kubelite/internal/testutil"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

const echoImage = "kubelite-lab-echo:test"

func buildEcho(t testing.TB, image bool) string {
	if image {
		return BuildEcho(t, echoImage)
	}
	return BuildEcho(t, "")
}

// curl asks url from host h once, with a short timeout.
func curl(ctx context.Context, l *Lab, h *Host, url string) (string, error) {
	out, err := l.Exec(ctx, h, "curl", "-sS", "--max-time", "1", url)
	return string(out), err
}

func wantAnswer(ctx context.Context, l *Lab, h *Host, url, prefix string) func() error {
	return func() error {
		out, err := curl(ctx, l, h, url)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(out, prefix) {
			return fmt.Errorf("got %q, want prefix %q", out, prefix)
		}
		return nil
	}
}

func TestLab(t *testing.T) {
	RequireSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := buildEcho(t, true)

	start := time.Now()
	l := ForTest(t, Config{Name: "labtest", Minions: 2})
	t.Logf("up in %s", time.Since(start).Round(time.Millisecond))
	master, m1, m2 := l.Master(), l.Minion(1), l.Minion(2)

	// Every host has its address; every engine answers and is its own.
	for _, h := range l.Hosts() {
		out, err := l.Exec(ctx, h, "ip", "-4", "-br", "addr", "show", "eth0")
		if err != nil || !strings.Contains(string(out), h.Addr.String()+"/24") {
			t.Fatalf("%s eth0: %q %v", h.Name, out, err)
		}
	}
	for _, h := range l.Minions() {
		out, err := l.Docker(ctx, h, "info", "--format", "{{.DockerRootDir}}")
		if err != nil || strings.TrimSpace(string(out)) != h.Engine.DataRoot {
			t.Fatalf("%s engine info: %q %v", h.Name, out, err)
		}
		out, err = l.Exec(ctx, h, "sysctl", "-n", "net.bridge.bridge-nf-call-iptables")
		if err != nil || strings.TrimSpace(string(out)) != "1" {
			t.Fatalf("%s bridge-nf-call-iptables: %q %v", h.Name, out, err)
		}
	}

	// Images built on the machine run on each minion; the master reaches them
	// on the minion's address and published port.
	if err := l.LoadImages(ctx, echoImage); err != nil {
		t.Fatal(err)
	}
	for _, h := range l.Minions() {
		if out, err := l.Docker(ctx, h, "run", "-d", "--name", "echo", "-p", "8080:80", echoImage, "-name", h.Name); err != nil {
			t.Fatalf("run on %s: %v: %s", h.Name, err, out)
		}
	}
	url1 := "http://" + m1.Addr.String() + ":8080/"
	testutil.Eventually(t, 15*time.Second, wantAnswer(ctx, l, master, url1, "minion1 "), "master reaches minion1")
	testutil.Eventually(t, 15*time.Second, wantAnswer(ctx, l, m2, url1, "minion1 "), "minion2 reaches minion1")
	testutil.Eventually(t, 15*time.Second, wantAnswer(ctx, l, m1, "http://"+m2.Addr.String()+":8080/", "minion2 "), "minion1 reaches minion2")

	// CutOff blocks it from everyone, Heal restores it.
	if err := l.CutOff(ctx, m1); err != nil {
		t.Fatal(err)
	}
	for _, h := range []*Host{master, m2} {
		if out, err := curl(ctx, l, h, url1); err == nil {
			t.Fatalf("%s reaches cut off minion1: %q", h.Name, out)
		}
	}
	if err := l.Heal(ctx, m1); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 15*time.Second, wantAnswer(ctx, l, master, url1, "minion1 "), "master reaches healed minion1")

	// A process started on a host serves until paused or killed.
	p, err := l.Start(m2, "echo", bin, "-addr", ":9090", "-name", "proc")
	if err != nil {
		t.Fatal(err)
	}
	url2 := "http://" + m2.Addr.String() + ":9090/"
	testutil.Eventually(t, 15*time.Second, wantAnswer(ctx, l, master, url2, "proc "), "master reaches process on minion2")
	if err := p.Pause(); err != nil {
		t.Fatal(err)
	}
	if out, err := curl(ctx, l, master, url2); err == nil {
		t.Fatalf("paused process answers: %q", out)
	}
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 15*time.Second, wantAnswer(ctx, l, master, url2, "proc "), "resumed process answers")
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	if done, _ := p.Exited(); !done {
		t.Fatal("killed process still running")
	}
	if out, err := curl(ctx, l, master, url2); err == nil {
		t.Fatalf("killed process answers: %q", out)
	}
	if tail := strings.Join(p.Tail(5), "\n"); !strings.Contains(tail, "lab: start "+bin) || !strings.Contains(tail, "lab: exit signal: killed") {
		t.Fatalf("log tail lacks start and exit lines:\n%s", tail)
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 15*time.Second, wantAnswer(ctx, l, master, url2, "proc "), "restarted process answers")

	// The engine can be stopped and started again.
	if err := l.KillEngine(m2); err != nil {
		t.Fatal(err)
	}
	if err := pingEngine(ctx, m2.Engine.Socket); err == nil {
		t.Fatal("killed engine answers")
	}
	if err := l.StartEngine(ctx, m2); err != nil {
		t.Fatal(err)
	}

	// A paused host answers neither through its engine nor its processes.
	testutil.Eventually(t, 15*time.Second, wantAnswer(ctx, l, master, url2, "proc "), "restarted process answers")
	if err := l.PauseHost(m2); err != nil {
		t.Fatal(err)
	}
	if err := pingEngine(ctx, m2.Engine.Socket); err == nil {
		t.Fatal("engine of a paused host answers")
	}
	if out, err := curl(ctx, l, master, url2); err == nil {
		t.Fatalf("process on a paused host answers: %q", out)
	}
	if err := l.ResumeHost(m2); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 15*time.Second, func() error { return pingEngine(ctx, m2.Engine.Socket) }, "resumed host's engine answers")
	testutil.Eventually(t, 15*time.Second, wantAnswer(ctx, l, master, url2, "proc "), "resumed host's process answers")

	// Nothing is forwarded out of the lab: a sink namespace the machine
	// reaches is unreachable from the lab, and the lab's chain dropped it.
	sinkURL := startSink(t, bin)
	if out, err := exec.Command("curl", "-sS", "--max-time", "2", sinkURL).CombinedOutput(); err != nil {
		t.Fatalf("machine cannot reach its sink: %v: %s", err, out)
	}
	before := dropped(t, l)
	if out, err := curl(ctx, l, master, sinkURL); err == nil {
		t.Fatalf("lab reaches outside its bridge: %q", out)
	}
	if after := dropped(t, l); after <= before {
		t.Fatalf("lab chain dropped %d packets before, %d after the attempt", before, after)
	}

	// Teardown leaves nothing.
	start = time.Now()
	if err := l.Down(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("down in %s", time.Since(start).Round(time.Millisecond))
	if left := leftovers(l.Config()); len(left) > 0 {
		t.Fatalf("left after Down:\n%s", strings.Join(left, "\n"))
	}
}

// TestCleanupAfterCrash abandons a running lab with a container, as an
// interrupted test would, and checks that Cleanup by name removes it all.
func TestCleanupAfterCrash(t *testing.T) {
	RequireSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	buildEcho(t, true)
	l, err := New(Config{Name: "labcrash", Minions: 1, Index: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = Cleanup(context.Background(), "labcrash") })
	if err := l.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.LoadImages(ctx, echoImage); err != nil {
		t.Fatal(err)
	}
	if out, err := l.Docker(ctx, l.Minion(1), "run", "-d", "--name", "echo", echoImage); err != nil {
		t.Fatalf("run: %v: %s", err, out)
	}
	if _, err := l.Start(l.Minion(1), "sleeper", "sleep", "600"); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(l.Config()); len(left) == 0 {
		t.Fatal("leftovers finds nothing of a running lab")
	}
	if err := Cleanup(ctx, "labcrash"); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(l.Config()); len(left) > 0 {
		t.Fatalf("left after Cleanup:\n%s", strings.Join(left, "\n"))
	}
}

// startSink makes a namespace outside the lab, reachable from the machine over
// its own veth, with the echo server in it; it returns the server's URL.
func startSink(t *testing.T, bin string) string {
	t.Helper()
	run := func(argv ...string) {
		t.Helper()
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
		}
	}
	_ = exec.Command("ip", "netns", "del", "klbt-sink").Run()
	_ = exec.Command("ip", "link", "del", "klbt-sink0").Run()
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", "klbt-sink").Run()
		_ = exec.Command("ip", "link", "del", "klbt-sink0").Run()
	})
	run("ip", "netns", "add", "klbt-sink")
	run("ip", "link", "add", "klbt-sink0", "type", "veth", "peer", "name", "eth0", "netns", "klbt-sink")
	run("ip", "addr", "add", "198.19.254.1/30", "dev", "klbt-sink0")
	run("ip", "link", "set", "klbt-sink0", "up")
	run("ip", "-n", "klbt-sink", "addr", "add", "198.19.254.2/30", "dev", "eth0")
	run("ip", "-n", "klbt-sink", "link", "set", "eth0", "up")
	run("ip", "-n", "klbt-sink", "link", "set", "lo", "up")
	run("ip", "-n", "klbt-sink", "route", "add", "default", "via", "198.19.254.1")
	cmd := exec.Command("nsenter", "--net=/run/netns/klbt-sink", "--", bin, "-addr", ":80", "-name", "sink")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := "http://198.19.254.2/"
	testutil.Eventually(t, 5*time.Second, func() error {
		return exec.Command("curl", "-s", "--max-time", "1", url).Run()
	}, "the sink at %s answers", url)
	return url
}

var dropRE = regexp.MustCompile(`(?m)^\s*(\d+)\s+\d+\s+DROP\s+.*\s(klb-\S+)\s+\*\s`)

// dropped counts the packets the lab chain's "from the lab" DROP rule dropped.
func dropped(t *testing.T, l *Lab) int {
	t.Helper()
	out, err := exec.Command("iptables", "-w", "-L", chainName(l.Config().Name), "-v", "-x", "-n").CombinedOutput()
	if err != nil {
		t.Fatalf("list lab chain: %v: %s", err, out)
	}
	m := dropRE.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no DROP rule for packets from the lab in:\n%s", out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// leftovers lists what of lab cfg exists on the machine, found independently
// of the code under test.
func leftovers(cfg Config) []string {
	cfg, _ = cfg.withDefaults()
	var left []string
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), "klb-"+cfg.Name+"-") {
		left = append(left, "netns: "+string(out))
	}
	if out, _ := exec.Command("ip", "-o", "link", "show").Output(); strings.Contains(string(out), "klb-"+cfg.Name) || strings.Contains(string(out), "klv-"+cfg.Name+"-") {
		left = append(left, "links: "+string(out))
	}
	if out, _ := exec.Command("iptables", "-w", "-S").Output(); strings.Contains(string(out), "KUBELITE-LAB-"+cfg.Name) {
		left = append(left, "iptables: "+string(out))
	}
	paths := []string{cfg.Root, cfg.RunDir}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			left = append(left, "dir: "+p)
		}
	}
	if info, _ := os.ReadFile("/proc/self/mountinfo"); true {
		for _, line := range strings.Split(string(info), "\n") {
			for _, p := range paths {
				if strings.Contains(line, p+"/") || strings.Contains(line, "/run/netns/klb-"+cfg.Name+"-") {
					left = append(left, "mount: "+line)
				}
			}
		}
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		cmd := strings.ReplaceAll(string(b), "\x00", " ")
		for _, p := range paths {
			if strings.Contains(cmd, p+"/") && !gone(mustAtoi(e.Name())) {
				left = append(left, "process "+e.Name()+": "+cmd)
			}
		}
		cg, _ := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		if strings.Contains(string(cg), "/klb-"+cfg.Name+"-") && !gone(mustAtoi(e.Name())) {
			left = append(left, "process in lab cgroup "+e.Name()+": "+cmd)
		}
	}
	cgs, _ := filepath.Glob("/sys/fs/cgroup/*/klb-" + cfg.Name + "-*")
	for _, c := range cgs {
		left = append(left, "cgroup: "+c)
	}
	sort.Strings(left)
	return left
}

func mustAtoi(s string) int { n, _ := strconv.Atoi(s); return n }

// BenchmarkUpDown measures bringing a 1+2 lab up (engines answering) and
// tearing it down to nothing; it reports the median of each over b.N runs:
//
//	go test -run '^$' -bench UpDown -benchtime 3x ./internal/lab/
func BenchmarkUpDown(b *testing.B) {
	RequireSystem(b)
	ctx := context.Background()
	var ups, downs []time.Duration
	for range b.N {
		l, err := New(Config{Name: "labbench", Minions: 2, Index: 2})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := l.Up(ctx); err != nil {
			b.Fatal(err)
		}
		up := time.Now()
		if err := l.Down(ctx); err != nil {
			b.Fatal(err)
		}
		ups, downs = append(ups, up.Sub(start)), append(downs, time.Since(up))
		if left := leftovers(l.Config()); len(left) > 0 {
			b.Fatalf("left after Down:\n%s", strings.Join(left, "\n"))
		}
	}
	median := func(d []time.Duration) float64 {
		s := append([]time.Duration(nil), d...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2].Seconds()
	}
	b.ReportMetric(median(ups), "up-s")
	b.ReportMetric(median(downs), "down-s")
	b.Logf("up %v, down %v", ups, downs)
}
