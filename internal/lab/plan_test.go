package lab

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func join(cmds [][]string) string {
	var b strings.Builder
	for _, c := range cmds {
		b.WriteString(strings.Join(c, " "))
		b.WriteByte('\n')
	}
	return b.String()
}

func TestPlanGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		cfg  Config
	}{
		{"plan-1+2.golden", Config{Name: "demo"}},
		{"plan-1+1-index3.golden", Config{Name: "e2e", Minions: 1, Index: 3, Root: "/srv/lab", RunDir: "/run/l"}},
		{"plan-3+2-index11.golden", Config{Name: "tri", Masters: 3, Minions: 2, Index: 11}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p, err := newPlan(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString("# hosts\n")
			for _, h := range p.hosts {
				b.WriteString(strings.Join([]string{h.Name, h.Addr.String(), h.NetNS, h.NSPath, h.Veth}, " ") + "\n")
				if h.Hostname != "" {
					b.WriteString("  " + strings.Join(h.nsenter([]string{"cmd"}), " ") + "\n")
				}
			}
			b.WriteString("# firewall\n" + join(p.firewall()))
			b.WriteString("# network\n" + join(p.network()))
			b.WriteString("# engines\n")
			for _, h := range p.hosts[p.cfg.Masters:] {
				b.WriteString(strings.Join(p.dockerd(h), " ") + "\n")
				b.WriteString("log " + h.Engine.Log + "\n")
			}
			golden(t, tc.file, b.String())
		})
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{Name: "a"}, true},
		{Config{Name: "abcd1234", Minions: 15, Index: 15}, true},
		{Config{Name: ""}, false},
		{Config{Name: "abcd12345"}, false}, // 9 chars: klv-<name>-<i> would exceed 15
		{Config{Name: "Demo"}, false},
		{Config{Name: "de-mo"}, false}, // would make prefixes ambiguous
		{Config{Name: "demo", Minions: 16}, false},
		{Config{Name: "demo", Minions: -1}, false},
		{Config{Name: "demo", Index: 16}, false},
		{Config{Name: "demo", Masters: 3}, true},
		{Config{Name: "demo", Masters: 8, Minions: 15}, true},
		{Config{Name: "demo", Masters: 9}, false},
		{Config{Name: "demo", Masters: -1}, false},
	} {
		_, err := newPlan(tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("%+v: err %v, want ok=%v", tc.cfg, err, tc.ok)
		}
	}
	// Every link name fits IFNAMSIZ.
	p, err := newPlan(Config{Name: "abcd1234", Minions: 15, Masters: 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range p.hosts {
		if len(h.Veth) > 15 {
			t.Errorf("veth %q longer than 15", h.Veth)
		}
	}
}

func TestParseLinks(t *testing.T) {
	out := `1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN
7: klb-demo: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP
8: klv-demo-0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master klb-demo state UP
9: klv-demo-1@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master klb-demo state UP
10: klb-demo2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500
11: klv-demo2-0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 master klb-demo2 state UP
`
	got := parseLinks(out, "demo")
	want := []string{"klv-demo-0", "klv-demo-1", "klb-demo"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got := parseLinks(out, "other"); got != nil {
		t.Errorf("other lab: got %v", got)
	}
}

func TestMountsUnder(t *testing.T) {
	info := `22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
100 22 254:0 /var/lib/kubelite-lab/demo/minion1/docker /var/lib/kubelite-lab/demo/minion1/docker rw - ext4 /dev/vda rw
101 100 0:50 / /var/lib/kubelite-lab/demo/minion1/docker/overlay2/abc/merged rw - overlay overlay rw
102 22 0:4 net:[4026532300] /run/kubelite-lab/demo/minion1/exec/netns/1f2e rw - nsfs nsfs rw
103 22 0:4 net:[4026532301] /run/kubelite-lab/demo2/minion1/exec/netns/3a4b rw - nsfs nsfs rw
104 22 0:51 / /var/lib/kubelite-lab/demo/with\040space rw - tmpfs tmpfs rw
`
	got := mountsUnder(info, []string{"/var/lib/kubelite-lab/demo", "/run/kubelite-lab/demo/"})
	want := []string{
		"/var/lib/kubelite-lab/demo/with space",
		"/run/kubelite-lab/demo/minion1/exec/netns/1f2e",
		"/var/lib/kubelite-lab/demo/minion1/docker/overlay2/abc/merged",
		"/var/lib/kubelite-lab/demo/minion1/docker",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestSelectPids(t *testing.T) {
	m := matcher{
		self:   50,
		netns:  map[string]bool{"net:[9]": true},
		paths:  []string{"/run/kubelite-lab/demo/", "/var/lib/kubelite-lab/demo/"},
		cgroup: "/klb-demo-",
	}
	procs := []procInfo{
		{pid: 1, comm: "init", netns: "net:[9]"},      // never init
		{pid: 50, comm: "lab.test", netns: "net:[9]"}, // never itself
		{pid: 10, comm: "dockerd", netns: "net:[9]"},  // engine in the lab's namespace
		{pid: 11, comm: "kubelite", netns: "net:[9]"}, // workload in the lab's namespace
		{pid: 12, comm: "containerd-shim", cmdline: "containerd-shim-runc-v2 -address /run/kubelite-lab/demo/minion1/exec/containerd/containerd.sock", netns: "net:[1]"},
		{pid: 13, comm: "echoserver", netns: "net:[77]", cgroup: "4:memory:/klb-demo-minion1/abc\n"}, // a container
		{pid: 14, comm: "dockerd", netns: "net:[1]"},                                                     // the machine's engine
		{pid: 15, comm: "echoserver", netns: "net:[78]", cgroup: "4:memory:/klb-demo2-minion1/abc\n"},    // another lab's container
		{pid: 16, comm: "containerd", cmdline: "containerd --root /run/kubelite-lab/demo2/minion1/exec"}, // another lab's
	}
	if got, want := m.selectPids(procs, false), []int{11, 13}; !reflect.DeepEqual(got, want) {
		t.Errorf("workloads: got %v, want %v", got, want)
	}
	if got, want := m.selectPids(procs, true), []int{10, 11, 12, 13}; !reflect.DeepEqual(got, want) {
		t.Errorf("all: got %v, want %v", got, want)
	}
}

func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want []string
	}{
		{"", 3, nil},
		{"a\n", 3, []string{"a"}},
		{"a\nb\nc\nd\n", 2, []string{"c", "d"}},
		{"a\nb", 5, []string{"a", "b"}},
	} {
		if got := lastLines([]byte(tc.in), tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("lastLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestCleanupOrder checks, with a fake runner, that cleanup of a lab with
// nothing left but its network deletes namespaces before links and the chain
// last, and goes on past a failing command.
func TestCleanupOrder(t *testing.T) {
	r := &scriptRunner{out: map[string]string{
		"ip netns list":                    "klb-demo-master (id: 0)\nklb-demo-minion1 (id: 1)\nklb-demo2-master\n",
		"ip -o link show":                  "7: klb-demo: <UP>\n8: klv-demo-0@if2: <UP>\n",
		"iptables -w -S KUBELITE-LAB-demo": "-N KUBELITE-LAB-demo\n",
	}, fail: map[string]bool{"ip netns del klb-demo-master": true, "iptables -w -D FORWARD -j KUBELITE-LAB-demo#2": true}}
	dir := t.TempDir()
	err := cleanup(context.Background(), r, "demo", []string{filepath.Join(dir, "root"), filepath.Join(dir, "run")})
	if err == nil || !strings.Contains(err.Error(), "ip netns del klb-demo-master") {
		t.Errorf("want the failing command's error, got %v", err)
	}
	want := []string{
		"ip netns list",
		"ip netns del klb-demo-master",
		"ip netns del klb-demo-minion1",
		"ip -o link show",
		"ip link del klv-demo-0",
		"ip link del klb-demo",
		"iptables -w -S KUBELITE-LAB-demo",
		"iptables -w -D FORWARD -j KUBELITE-LAB-demo",
		"iptables -w -D FORWARD -j KUBELITE-LAB-demo",
		"iptables -w -F KUBELITE-LAB-demo",
		"iptables -w -X KUBELITE-LAB-demo",
	}
	if !reflect.DeepEqual(r.cmds, want) {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(r.cmds, "\n"), strings.Join(want, "\n"))
	}
}

// scriptRunner runs nothing: it records commands, answers from out, and
// fails those in fail, either a command or a command and "#n" to fail only its
// n-th run.
type scriptRunner struct {
	out   map[string]string
	fail  map[string]bool
	cmds  []string
	count map[string]int
}

func (s *scriptRunner) Run(_ context.Context, argv ...string) ([]byte, error) {
	line := strings.Join(argv, " ")
	if s.count == nil {
		s.count = map[string]int{}
	}
	s.count[line]++
	s.cmds = append(s.cmds, line)
	if s.fail[line] || s.fail[fmt.Sprintf("%s#%d", line, s.count[line])] {
		return nil, fmt.Errorf("%s: scripted failure", line)
	}
	return []byte(s.out[line]), nil
}

func TestHostCommands(t *testing.T) {
	l, err := New(Config{Name: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	f := &FakeRunner{Fail: []string{"ip link set klv-demo-2 up"}}
	l.run = f
	ctx := context.Background()
	m1, m2 := l.Minion(1), l.Minion(2)
	_, _ = l.Exec(ctx, l.Master(), "curl", "http://198.18.0.11:8080/")
	_, _ = l.Docker(ctx, m1, "ps")
	if _, err := l.Docker(ctx, l.Master(), "ps"); err == nil {
		t.Error("docker on the master: want an error, it has no engine")
	}
	if err := l.CutOff(ctx, m1); err != nil {
		t.Error(err)
	}
	if err := l.Heal(ctx, m1); err != nil {
		t.Error(err)
	}
	if err := l.Heal(ctx, m2); err == nil || !strings.HasPrefix(err.Error(), "heal minion2: ") {
		t.Errorf("failing heal: got %v", err)
	}
	want := []string{
		"nsenter --net=/run/netns/klb-demo-master -- curl http://198.18.0.11:8080/",
		"docker -H unix:///run/kubelite-lab/demo/minion1/docker.sock ps",
		"ip link set klv-demo-1 down",
		"ip link set klv-demo-1 up",
		"ip link set klv-demo-2 up",
	}
	if !reflect.DeepEqual(f.Cmds, want) {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(f.Cmds, "\n"), strings.Join(want, "\n"))
	}
	if l.Minion(0) != nil || l.Minion(3) != nil {
		t.Error("Minion out of range: want nil")
	}
}

func TestSeveralMasters(t *testing.T) {
	for _, tc := range []struct {
		cfg                  Config
		masters, minions     []string
		minion1, master2, m0 string
	}{
		{Config{Name: "one", Minions: 2}, []string{"master"}, []string{"minion1", "minion2"}, "minion1", "", "master"},
		{Config{Name: "tri", Masters: 3, Minions: 2}, []string{"master1", "master2", "master3"}, []string{"minion1", "minion2"}, "minion1", "master2", "master1"},
	} {
		l, err := New(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range l.Masters() {
			got = append(got, h.Name)
			if h.Engine != nil || h.Minion != 0 {
				t.Errorf("%s: master %s has an engine or a minion number", tc.cfg.Name, h.Name)
			}
		}
		if !reflect.DeepEqual(got, tc.masters) {
			t.Errorf("%s: masters %v, want %v", tc.cfg.Name, got, tc.masters)
		}
		got = nil
		for i, h := range l.Minions() {
			got = append(got, h.Name)
			if h.Engine == nil || h.Minion != i+1 || l.Minion(i+1) != h {
				t.Errorf("%s: minion %s: engine %v, number %d, Minion(%d) %v", tc.cfg.Name, h.Name, h.Engine, h.Minion, i+1, l.Minion(i+1))
			}
		}
		if !reflect.DeepEqual(got, tc.minions) {
			t.Errorf("%s: minions %v, want %v", tc.cfg.Name, got, tc.minions)
		}
		if l.Master().Name != tc.m0 || l.Minion(0) != nil || l.Minion(len(tc.minions)+1) != nil || l.MasterN(0) != nil {
			t.Errorf("%s: accessors out of range", tc.cfg.Name)
		}
		if m2 := l.MasterN(2); (m2 == nil) != (tc.master2 == "") || (m2 != nil && m2.Name != tc.master2) {
			t.Errorf("%s: MasterN(2) = %v, want %q", tc.cfg.Name, m2, tc.master2)
		}
		// One master keeps the machine's host name (the commands of before);
		// several masters get each their own.
		f := &FakeRunner{}
		l.run = f
		_, _ = l.Exec(context.Background(), l.Master(), "hostname")
		want := "nsenter --net=/run/netns/klb-" + tc.cfg.Name + "-" + tc.m0 + " -- hostname"
		if len(tc.masters) > 1 {
			want = "nsenter --net=/run/netns/klb-tri-master1 -- unshare --uts -- sh -c hostname \"$0\" && exec \"$@\" klb-tri-master1 hostname"
		}
		if len(f.Cmds) != 1 || f.Cmds[0] != want {
			t.Errorf("%s: exec %q, want %q", tc.cfg.Name, f.Cmds, want)
		}
	}
}
