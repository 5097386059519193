package doctor

import (
	"context"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

var t0 = time.Date(2014, 12, 12, 10, 0, 0, 0, time.UTC)

const minions = `{"kind":"MinionList","items":[
 {"id":"192.168.1.201","hostIP":"192.168.1.201","podCIDR":"10.244.1.0/24"},
 {"id":"192.168.1.202","hostIP":"192.168.1.202","podCIDR":"10.244.2.0/24","kubeletPort":10250}]}`

func healthyMinionHost() *FakeProbe {
	return &FakeProbe{
		Docker: map[string][2]string{"unix:///var/run/docker.sock": {"20.10.24", "1.41"}},
		Pages: map[string]FakePage{
			"http://192.168.1.200:8080/healthz":             {Status: 200, Date: t0, Body: "ok"},
			"http://192.168.1.200:8080/api/v1beta1/minions": {Status: 200, Date: t0, Body: minions},
			"http://127.0.0.1:10250/healthz":                {Status: 200, Body: "ok"},
		},
		RouteTable: []Route{{Dst: netip.MustParsePrefix("10.244.2.0/24"), Gateway: netip.MustParseAddr("192.168.1.202"), Dev: "eth0"}},
		Clock:      t0,
		NAT:        natRules,
		Files:      map[string]string{sysctlForward: "1\n", sysctlBridgeNF: "1\n"},
	}
}

const natRules = `*nat
:PREROUTING ACCEPT [0:0]
:KUBELITE-SERVICES - [0:0]
:KUBELITE-SVC-ABCDEF - [0:0]
-A PREROUTING -m comment --comment "kubelite service portals" -j KUBELITE-SERVICES
-A KUBELITE-SVC-ABCDEF -j DNAT --to-destination 10.244.1.5:80
COMMIT
`

// A machine before kubelite starts: nothing listens, nothing is written.
func freshHost() *FakeProbe {
	return &FakeProbe{
		Docker: map[string][2]string{"unix:///var/run/docker.sock": {"20.10.24", "1.41"}},
		Files:  map[string]string{sysctlForward: "1\n", sysctlBridgeNF: "1\n"},
		Clock:  t0,
	}
}

var standalonePreflight = Target{Role: "standalone", Mode: Preflight, DockerEndpoint: "unix:///var/run/docker.sock",
	APIURL: "http://127.0.0.1:8081", EtcdURLs: []string{"http://127.0.0.1:4001"}, KubeletAddr: "127.0.0.1:10250",
	DataDir: "/var/lib/kubelite", Listeners: []Listener{{"port", "127.0.0.1:8081"}, {"kubelet_port", "127.0.0.1:10250"},
		{"etcd-addr", "127.0.0.1:4001"}, {"etcd-peer-addr", "127.0.0.1:7001"}}}

var minionTarget = Target{Role: "minion", DockerEndpoint: "unix:///var/run/docker.sock", APIURL: "http://192.168.1.200:8080",
	Hostname: "192.168.1.201", KubeletAddr: "0.0.0.0:10250"}

func render(rs []Result) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.String() + "\n")
	}
	return b.String()
}

func TestScenarios(t *testing.T) {
	for _, tc := range []struct {
		name   string
		probe  func() *FakeProbe
		target Target
		failed int
	}{
		{"minion-healthy", healthyMinionHost, minionTarget, 0},
		{"minion-wrong-docker-socket", healthyMinionHost, func() Target {
			tg := minionTarget
			tg.DockerEndpoint = "unix:///wrong/docker.sock"
			return tg
		}(), 1},
		{"minion-master-unreachable", func() *FakeProbe {
			p := healthyMinionHost()
			delete(p.Pages, "http://192.168.1.200:8080/healthz")
			return p
		}, minionTarget, 1},
		{"minion-skew-routes-iptables", func() *FakeProbe {
			p := healthyMinionHost()
			p.Clock = t0.Add(-42 * time.Second)
			p.RouteTable = nil
			p.IPTablesErr = errors.New(`exec: "iptables": executable file not found in $PATH`)
			return p
		}, minionTarget, 4},
		{"minion-secure", func() *FakeProbe {
			p := healthyMinionHost()
			p.Pages = map[string]FakePage{
				"https://192.168.1.200:8080/healthz":             {Status: 200, Date: t0, Body: "ok"},
				"https://127.0.0.1:10250/healthz":                {Status: 200, Body: "ok"},
				"https://192.168.1.200:8080/api/v1beta1/minions": {Status: 401, Body: "{}"},
			}
			return p
		}, Target{Role: "minion", DockerEndpoint: "unix:///var/run/docker.sock", APIURL: "https://192.168.1.200:8080",
			Hostname: "192.168.1.201", KubeletAddr: "0.0.0.0:10250"}, 0},
		{"master-kubelet-port-closed", func() *FakeProbe {
			return &FakeProbe{
				Pages: map[string]FakePage{
					"http://127.0.0.1:4001/health":              {Status: 200, Body: `{"health":"true"}`},
					"http://127.0.0.1:8080/healthz":             {Status: 200, Body: "ok"},
					"http://127.0.0.1:8080/api/v1beta1/minions": {Status: 200, Body: minions},
				},
				Open: map[string]bool{"192.168.1.201:10250": true},
			}
		}, Target{Role: "master", APIURL: "http://127.0.0.1:8080", EtcdURLs: []string{"http://127.0.0.1:4001"}, Machines: []string{"192.168.1.201"}}, 1},
		{"minion-docker-permission-denied", func() *FakeProbe {
			p := healthyMinionHost()
			p.DockerErr = errors.New("dial unix /var/run/docker.sock: connect: permission denied")
			return p
		}, minionTarget, 1},
		{"minion-fake-runtime-no-proxy", func() *FakeProbe {
			p := healthyMinionHost()
			p.Docker, p.NAT = nil, ""
			p.IPTablesErr = errors.New(`exec: "iptables": executable file not found in $PATH`)
			return p
		}, func() Target {
			tg := minionTarget
			tg.Runtime, tg.ProxyMode = "fake", "none"
			return tg
		}(), 0},
		{"minion-proxy-not-running", func() *FakeProbe {
			p := healthyMinionHost()
			p.NAT = "*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"
			return p
		}, minionTarget, 1},
		{"standalone-preflight-fresh", freshHost, standalonePreflight, 0},
		{"standalone-preflight-problems", func() *FakeProbe {
			p := freshHost()
			p.Busy = map[string]bool{"127.0.0.1:8081": true}
			p.ReadOnly = map[string]bool{"/var/lib/kubelite": true}
			delete(p.Files, sysctlBridgeNF)
			return p
		}, standalonePreflight, 3},
		{"minion-preflight", func() *FakeProbe {
			p := freshHost()
			p.Pages = healthyMinionHost().Pages
			delete(p.Pages, "http://127.0.0.1:10250/healthz")
			p.Files[sysctlForward] = "0\n"
			return p
		}, func() Target {
			tg := minionTarget
			tg.Mode, tg.Listeners = Preflight, []Listener{{"port", "0.0.0.0:10250"}}
			return tg
		}(), 1},
		// --etcd_servers: no embedded etcd port to check, the external etcd must answer.
		{"master-preflight-external-etcd", func() *FakeProbe {
			return &FakeProbe{Pages: map[string]FakePage{"http://192.168.1.10:4001/health": {Status: 200, Body: `{"health":"true"}`}}}
		}, Target{Role: "master", Mode: Preflight, APIURL: "http://127.0.0.1:8080", EtcdURLs: []string{"http://192.168.1.10:4001"},
			Listeners: []Listener{{"port", "0.0.0.0:8080"}}}, 0},
		{"master-etcd-down", func() *FakeProbe {
			return &FakeProbe{Pages: map[string]FakePage{"http://192.168.1.10:4001/health": {Status: 503, Body: `{"health":"false"}`}}}
		}, Target{Role: "master", APIURL: "http://127.0.0.1:8080", EtcdURLs: []string{"http://192.168.1.10:4001"}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := Run(context.Background(), tc.probe(), tc.target)
			if got := Failed(rs); got != tc.failed {
				t.Errorf("failed = %d, want %d", got, tc.failed)
			}
			for _, r := range rs {
				if strings.Contains(r.String(), "\n") {
					t.Errorf("multi-line result %q", r)
				}
			}
			golden(t, tc.name, render(rs))
		})
	}
}

func TestParseProcRoute(t *testing.T) {
	const table = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	00000000	0101A8C0	0003	0	0	0	00000000	0	0	0
eth0	0001A8C0	00000000	0001	0	0	0	00FFFFFF	0	0	0
eth0	0002F40A	CA01A8C0	0003	0	0	0	00FFFFFF	0	0	0
`
	rs, err := ParseProcRoute(strings.NewReader(table))
	if err != nil {
		t.Fatal(err)
	}
	want := []Route{
		{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), Dev: "eth0"},
		{Dst: netip.MustParsePrefix("192.168.1.0/24"), Dev: "eth0"},
		{Dst: netip.MustParsePrefix("10.244.2.0/24"), Gateway: netip.MustParseAddr("192.168.1.202"), Dev: "eth0"},
	}
	if len(rs) != len(want) {
		t.Fatalf("got %v", rs)
	}
	for i := range want {
		if rs[i] != want[i] {
			t.Errorf("route %d = %+v, want %+v", i, rs[i], want[i])
		}
	}
	if _, err := ParseProcRoute(strings.NewReader("h\neth0 zz 00000000 1 0 0 0 00000000\n")); err == nil {
		t.Error("bad line accepted")
	}
}

func TestChooseMode(t *testing.T) {
	tg := Target{Role: "master", Listeners: []Listener{{"port", "0.0.0.0:8080"}, {"etcd-addr", "127.0.0.1:4001"}}}
	if got := ChooseMode(&FakeProbe{}, tg); got != Preflight {
		t.Errorf("nothing listens: %s, want %s", got, Preflight)
	}
	if got := ChooseMode(&FakeProbe{Busy: map[string]bool{"0.0.0.0:8080": true}}, tg); got != Running {
		t.Errorf("the API port in use: %s, want %s", got, Running)
	}
	if got := ChooseMode(&FakeProbe{Busy: map[string]bool{"127.0.0.1:4001": true}}, tg); got != Preflight {
		t.Errorf("only another port in use: %s, want %s (the ports check says which)", got, Preflight)
	}
	if got := ChooseMode(&FakeProbe{Denied: map[string]bool{"0.0.0.0:8080": true}}, tg); got != Preflight {
		t.Errorf("the API port not ours to bind (no root): %s, want %s", got, Preflight)
	}
}

// The ports check tells a port in use from one this user may not bind.
func TestPortsCheckInUseOrDenied(t *testing.T) {
	tg := Target{Role: "standalone", Listeners: []Listener{{"port", "127.0.0.1:80"}, {"kubelet_port", "127.0.0.1:10250"}}}
	for _, tc := range []struct {
		name        string
		probe       *FakeProbe
		ok          bool
		detail, fix string
	}{
		{"free", &FakeProbe{}, true, "free: 127.0.0.1:80, 127.0.0.1:10250", ""},
		{"in use", &FakeProbe{Busy: map[string]bool{"127.0.0.1:10250": true}}, false,
			"in use: --kubelet_port 127.0.0.1:10250: listen tcp 127.0.0.1:10250: bind: address already in use", "stop what listens there"},
		{"denied", &FakeProbe{Denied: map[string]bool{"127.0.0.1:80": true}}, false,
			"not allowed to listen on --port 127.0.0.1:80 (ports below 1024 need root)", "run kubelite as root"},
	} {
		r := checkPorts.Run(context.Background(), tc.probe, tg, &State{})
		if r.OK != tc.ok || r.Detail != tc.detail || !strings.HasPrefix(r.Fix, tc.fix) {
			t.Errorf("%s: %+v, want ok=%v detail %q fix %q...", tc.name, r, tc.ok, tc.detail, tc.fix)
		}
	}
}
