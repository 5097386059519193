package registry

import (
	"net"
	"testing"
)

func mustCIDR(t *testing.T, s string) *net.IPNet {
	t.Helper()
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPortalsAllocator(t *testing.T) {
	seq := func(vals ...uint32) func(uint32) uint32 {
		return func(n uint32) uint32 { v := vals[0] % n; vals = vals[1:]; return v }
	}
	p, err := newPortals(mustCIDR(t, "10.254.0.0/29"), seq(0, 0, 5, 5, 5, 5, 5, 5, 5))
	if err != nil {
		t.Fatal(err)
	}
	// 6 usable addresses: .1 to .6; never .0 or .7.
	var got []string
	for i := 0; i < 6; i++ {
		ip, err := p.Allocate()
		if err != nil {
			t.Fatalf("allocate %d: %v", i, err)
		}
		got = append(got, ip.String())
	}
	want := []string{"10.254.0.1", "10.254.0.2", "10.254.0.6", "10.254.0.3", "10.254.0.4", "10.254.0.5"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %v, want %v", got, want)
		}
	}
	if _, err := p.Allocate(); err != errPortalsFull {
		t.Fatalf("full network: got %v", err)
	}
	p.Release(net.ParseIP("10.254.0.3"))
	p.Release(net.ParseIP("192.168.0.1")) // outside: ignored
	if ip, err := p.Allocate(); err != nil || ip.String() != "10.254.0.3" {
		t.Fatalf("after release: %v %v", ip, err)
	}

	cases := []struct {
		ip string
		ok bool
	}{
		{"10.254.0.0", false}, // network
		{"10.254.0.7", false}, // broadcast
		{"10.254.1.1", false}, // outside
		{"10.254.0.3", false}, // taken
	}
	for _, c := range cases {
		if err := p.AllocateSpecific(net.ParseIP(c.ip)); (err == nil) != c.ok {
			t.Errorf("AllocateSpecific(%s) = %v", c.ip, err)
		}
	}
	p.Release(net.ParseIP("10.254.0.4"))
	if err := p.AllocateSpecific(net.ParseIP("10.254.0.4")); err != nil {
		t.Errorf("requested free address refused: %v", err)
	}
	for _, bad := range []string{"10.0.0.0/31", "fd00::/64"} {
		if _, err := newPortals(mustCIDR(t, bad), seq(0)); err == nil {
			t.Errorf("newPortals(%s) accepted", bad)
		}
	}
}

func TestGeneratedNames(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		n := generateName("web-")
		if len(n) != len("web-")+5 || n[:4] != "web-" {
			t.Fatalf("name %q", n)
		}
		seen[n] = true
	}
	if len(seen) < 190 {
		t.Fatalf("only %d distinct names of 200", len(seen))
	}
	long := generateName(string(make([]byte, 0)) + "a123456789b123456789c123456789d123456789e123456789f123456789-")
	if len(long) != 63 {
		t.Fatalf("long prefix gave %d characters", len(long))
	}
	u := newUID()
	if len(u) != 36 || u[14] != '4' {
		t.Fatalf("uid %q is not a v4 UUID", u)
	}
}
