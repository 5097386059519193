package podnet

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

var (
	cluster = netip.MustParsePrefix("10.244.0.0/16")
	self    = Config{Self: "m1", HostIP: netip.MustParseAddr("198.18.0.11"), ClusterCIDR: cluster}
)

func minion(name, host, cidr string) Minion {
	m := Minion{Name: name}
	if host != "" {
		m.HostIP = netip.MustParseAddr(host)
	}
	if cidr != "" {
		m.PodCIDR = netip.MustParsePrefix(cidr)
	}
	return m
}

func routes(rs ...string) []Route {
	var out []Route
	for _, r := range rs {
		dst, via, _ := strings.Cut(r, " via ")
		out = append(out, Route{Dst: netip.MustParsePrefix(dst), Via: netip.MustParseAddr(via)})
	}
	return out
}

func TestMakePlan(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      Config
		minions  []Minion
		routes   []Route
		problems []string
	}{
		{name: "empty", cfg: self},
		{name: "only self", cfg: self, minions: []Minion{minion("m1", "198.18.0.11", "10.244.1.0/24")}},
		{
			name: "three minions, unsorted input",
			cfg:  self,
			minions: []Minion{
				minion("m3", "198.18.0.13", "10.244.3.0/24"),
				minion("m1", "198.18.0.11", "10.244.1.0/24"),
				minion("m2", "198.18.0.12", "10.244.2.0/24"),
			},
			routes: routes("10.244.2.0/24 via 198.18.0.12", "10.244.3.0/24 via 198.18.0.13"),
		},
		{
			name:    "self found by host address only",
			cfg:     Config{HostIP: netip.MustParseAddr("198.18.0.11"), ClusterCIDR: cluster},
			minions: []Minion{minion("198.18.0.11", "198.18.0.11", "10.244.1.0/24"), minion("198.18.0.12", "198.18.0.12", "10.244.2.0/24")},
			routes:  routes("10.244.2.0/24 via 198.18.0.12"),
		},
		{
			name:    "self without a subnet yet still routes to others",
			cfg:     self,
			minions: []Minion{minion("m1", "198.18.0.11", ""), minion("m2", "198.18.0.12", "10.244.2.0/24")},
			routes:  routes("10.244.2.0/24 via 198.18.0.12"),
		},
		{
			name: "left out: no subnet, no address, outside the cluster, IPv6",
			cfg:  self,
			minions: []Minion{
				minion("a", "198.18.0.20", ""),
				minion("b", "", "10.244.5.0/24"),
				minion("c", "198.18.0.22", "10.99.0.0/24"),
				minion("d", "198.18.0.23", "10.0.0.0/8"),
				minion("e", "fd00::1", "10.244.6.0/24"),
				minion("f", "198.18.0.25", "10.244.7.0/24"),
			},
			routes: routes("10.244.7.0/24 via 198.18.0.25"),
			problems: []string{
				"minion a: no pod subnet yet",
				"minion b: no host address",
				"minion c: pod subnet 10.99.0.0/24 outside cluster CIDR 10.244.0.0/16",
				"minion d: pod subnet 10.0.0.0/8 outside cluster CIDR 10.244.0.0/16",
				"minion e: not IPv4 (10.244.6.0/24, fd00::1)",
			},
		},
		{
			name: "overlapping subnets get no route, also against self",
			cfg:  self,
			minions: []Minion{
				minion("m1", "198.18.0.11", "10.244.1.0/24"),
				minion("m2", "198.18.0.12", "10.244.1.0/24"),
				minion("m3", "198.18.0.13", "10.244.3.0/24"),
				minion("m4", "198.18.0.14", "10.244.3.128/25"),
				minion("m5", "198.18.0.15", "10.244.5.0/24"),
			},
			routes: routes("10.244.5.0/24 via 198.18.0.15"),
			problems: []string{
				"minion m2: pod subnet 10.244.1.0/24 overlaps minion m1's",
				"minion m3: pod subnet 10.244.3.0/24 overlaps minion m4's",
				"minion m4: pod subnet 10.244.3.128/25 overlaps minion m3's",
			},
		},
		{
			name:    "unmasked subnet is routed masked",
			cfg:     self,
			minions: []Minion{minion("m2", "198.18.0.12", "10.244.2.7/24")},
			routes:  routes("10.244.2.0/24 via 198.18.0.12"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := MakePlan(tc.cfg, tc.minions)
			if !reflect.DeepEqual(p.Routes, tc.routes) {
				t.Errorf("routes %v, want %v", p.Routes, tc.routes)
			}
			if !reflect.DeepEqual(p.Problems, tc.problems) {
				t.Errorf("problems %q, want %q", p.Problems, tc.problems)
			}
		})
	}
}

func TestDiffRoutes(t *testing.T) {
	for _, tc := range []struct {
		name             string
		current, desired []Route
		set, del         []Route
	}{
		{name: "nothing"},
		{name: "add", desired: routes("10.244.2.0/24 via 198.18.0.12"), set: routes("10.244.2.0/24 via 198.18.0.12")},
		{name: "in sync", current: routes("10.244.2.0/24 via 198.18.0.12"), desired: routes("10.244.2.0/24 via 198.18.0.12")},
		{name: "minion moved", current: routes("10.244.2.0/24 via 198.18.0.12"), desired: routes("10.244.2.0/24 via 198.18.0.14"), set: routes("10.244.2.0/24 via 198.18.0.14")},
		{name: "minion gone", current: routes("10.244.2.0/24 via 198.18.0.12", "10.244.3.0/24 via 198.18.0.13"), desired: routes("10.244.3.0/24 via 198.18.0.13"), del: routes("10.244.2.0/24 via 198.18.0.12")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, del := DiffRoutes(tc.current, tc.desired)
			if !reflect.DeepEqual(set, tc.set) || !reflect.DeepEqual(del, tc.del) {
				t.Errorf("set %v del %v, want set %v del %v", set, del, tc.set, tc.del)
			}
		})
	}
}

func TestJumpFix(t *testing.T) {
	j := "-j KUBELITE-PODNET"
	for _, tc := range []struct {
		rules   []string
		deletes int
		insert  bool
	}{
		{nil, 0, true},
		{[]string{j}, 0, false},
		{[]string{j, "-j DOCKER"}, 0, false},
		{[]string{"-s 10.244.1.0/24 ! -o br-1 -j MASQUERADE", j}, 1, true},
		{[]string{j, "-j X", j}, 2, true},
		{[]string{"-j X"}, 0, true},
	} {
		d, ins := jumpFix(tc.rules, j)
		if d != tc.deletes || ins != tc.insert {
			t.Errorf("%q: deletes %d insert %v, want %d %v", tc.rules, d, ins, tc.deletes, tc.insert)
		}
	}
}

func TestRulesGolden(t *testing.T) {
	golden(t, "rules-10.244.0.0-16.golden", Rules(netip.MustParsePrefix("10.244.0.0/16")))
}

func TestParseRoutes(t *testing.T) {
	out := `[{"dst":"10.244.2.0/24","gateway":"198.18.0.12","dev":"eth0","flags":[]},` +
		`{"dst":"10.244.9.9","gateway":"198.18.0.19","dev":"eth0","flags":[]},` +
		`{"dst":"10.244.1.0/24","dev":"br-1","prefsrc":"10.244.1.1","flags":[]}]`
	got, err := parseRoutes([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := routes("10.244.2.0/24 via 198.18.0.12", "10.244.9.9/32 via 198.18.0.19")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if got, err := parseRoutes([]byte("\n")); err != nil || got != nil {
		t.Errorf("empty: %v %v", got, err)
	}
	if _, err := parseRoutes([]byte(`[{"dst":"bogus","gateway":"1.2.3.4"}]`)); err == nil {
		t.Error("bogus destination: want an error")
	}
	if _, err := parseRoutes([]byte(`not json`)); err == nil {
		t.Error("not json: want an error")
	}
}
