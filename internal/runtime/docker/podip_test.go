package docker

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

func TestPickIP(t *testing.T) {
	a := netip.MustParseAddr
	held := func(live bool, addrs ...string) map[netip.Addr]bool {
		m := map[netip.Addr]bool{}
		for _, s := range addrs {
			m[a(s)] = live
		}
		return m
	}
	merge := func(ms ...map[netip.Addr]bool) map[netip.Addr]bool {
		out := map[netip.Addr]bool{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		subnet string
		gw     string
		from   string // "" = none yet
		held   map[netip.Addr]bool
		want   string // "" = none
	}{
		{"empty /24: the top", "10.244.1.0/24", "10.244.1.1", "", nil, "10.244.1.254"},
		{"gateway at the top: the next below", "10.244.1.0/24", "10.244.1.254", "", nil, "10.244.1.253"},
		{"skips held", "10.244.1.0/24", "10.244.1.1", "", held(true, "10.244.1.254", "10.244.1.253"), "10.244.1.252"},
		{"below the last handed out", "10.244.1.0/24", "10.244.1.1", "10.244.1.7", held(true, "10.244.1.7"), "10.244.1.6"},
		{"a released address (.8) is not reused at once", "10.244.1.0/24", "10.244.1.1", "10.244.1.7", held(true, "10.244.1.7", "10.244.1.6"), "10.244.1.5"},
		{"wraps past the gateway to the top", "10.244.1.0/24", "10.244.1.1", "10.244.1.2", nil, "10.244.1.254"},
		{"from outside the subnet: from the top", "10.244.1.0/24", "10.244.1.1", "10.244.9.9", nil, "10.244.1.254"},
		{"/30: the one host address besides the gateway", "10.0.0.4/30", "10.0.0.5", "", nil, "10.0.0.6"},
		{"/30 full", "10.0.0.4/30", "10.0.0.5", "", held(true, "10.0.0.6"), ""},
		{"/30 full but its holder exited: reused", "10.0.0.4/30", "10.0.0.5", "", held(false, "10.0.0.6"), "10.0.0.6"},
		{"a free address before an exited holder's", "10.0.0.0/29", "10.0.0.1", "", merge(held(false, "10.0.0.6"), held(true, "10.0.0.5")), "10.0.0.4"},
		{"full /29: the exited holder's", "10.0.0.0/29", "10.0.0.1", "10.0.0.3",
			merge(held(true, "10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6"), held(false, "10.0.0.4")), "10.0.0.4"},
		{"never the network or broadcast address", "10.0.0.0/29", "10.0.0.1", "",
			held(true, "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var from netip.Addr
			if tt.from != "" {
				from = a(tt.from)
			}
			got, ok := pickIP(netip.MustParsePrefix(tt.subnet), a(tt.gw), from, tt.held)
			switch {
			case tt.want == "" && ok:
				t.Fatalf("pickIP = %s, want none", got)
			case tt.want != "" && (!ok || got != a(tt.want)):
				t.Fatalf("pickIP = %s %v, want %s", got, ok, tt.want)
			}
		})
	}
}

func TestLastAddr(t *testing.T) {
	for p, want := range map[string]string{
		"10.244.1.0/24": "10.244.1.255", "10.244.0.0/16": "10.244.255.255", "10.0.0.4/30": "10.0.0.7", "10.0.0.0/8": "10.255.255.255",
	} {
		if got := lastAddr(netip.MustParsePrefix(p)); got.String() != want {
			t.Errorf("lastAddr(%s) = %s, want %s", p, got, want)
		}
	}
}

var testNet = podNetwork{id: "net1", name: "pods", bridge: "klt0", subnet: netip.MustParsePrefix("10.9.0.0/29"), gateway: netip.MustParseAddr("10.9.0.1")}

// loader is a fake engine list of address holders, counting its calls.
type loader struct {
	hs    []ipHolder
	eps   []ipHolder // the engine's own endpoints, asked before each reservation
	calls int
	err   error
}

func (l *loader) load(ctx context.Context, pn podNetwork) ([]ipHolder, error) {
	l.calls++
	return l.hs, l.err
}

// engine is a fake engine listing l's holders, the endpoints eps and
// answering running.
func (l *loader) engine(running func(context.Context, string) bool) poolEngine {
	return poolEngine{load: l.load, running: running, endpoints: func(context.Context, podNetwork) ([]ipHolder, error) {
		return l.eps, nil
	}}
}

// nobody is the engine's answer when no container runs.
func nobody(context.Context, string) bool { return false }

func TestPoolLoadsOnceAndAvoidsHolders(t *testing.T) {
	ctx := context.Background()
	l := &loader{hs: []ipHolder{
		{id: "old-running", ip: netip.MustParseAddr("10.9.0.6"), live: true},
		{id: "other-subnet", ip: netip.MustParseAddr("10.8.0.3"), live: true},
	}}
	p := newIPPool()
	got := []string{}
	for i := 0; i < 3; i++ {
		a, err := p.reserve(ctx, testNet, "", l.engine(nobody))
		if err != nil {
			t.Fatal(err)
		}
		p.bind(testNet.id, a, "c"+a.String(), "")
		got = append(got, a.String())
	}
	if want := []string{"10.9.0.5", "10.9.0.4", "10.9.0.3"}; !equal(got, want) || l.calls != 1 {
		t.Fatalf("addresses %v after %d loads, want %v after 1", got, l.calls, want)
	}
	// Release one: not reused while others are free; then the search
	// wraps and gives it, without another list.
	p.release("c10.9.0.5")
	a, err := p.reserve(ctx, testNet, "", l.engine(nobody))
	if err != nil || a.String() != "10.9.0.2" {
		t.Fatalf("reserve = %s %v, want 10.9.0.2", a, err)
	}
	p.bind(testNet.id, a, "c2", "")
	a, err = p.reserve(ctx, testNet, "", l.engine(nobody))
	if err != nil || a.String() != "10.9.0.5" || l.calls != 1 {
		t.Fatalf("reserve = %s %v (%d loads), want the released 10.9.0.5 without a load", a, err, l.calls)
	}
	// A failed create drops its reservation.
	p.bind(testNet.id, a, "", "")
	if _, held := p.nets[testNet.id].held[a]; held {
		t.Fatalf("%s still held after a failed create", a)
	}
}

func TestPoolExhaustedReloads(t *testing.T) {
	ctx := context.Background()
	p := newIPPool()
	l := &loader{}
	for i := 0; i < 5; i++ { // .6 down to .2: the whole /29
		a, err := p.reserve(ctx, testNet, "", l.engine(nobody))
		if err != nil {
			t.Fatal(err)
		}
		p.bind(testNet.id, a, "c"+a.String(), "")
	}
	// The engine shows .4 exited and the rest gone (removed behind the
	// pool's back): after the reload the pool takes a free one first.
	l.hs = []ipHolder{{id: "c10.9.0.4", ip: netip.MustParseAddr("10.9.0.4"), live: false}}
	for id, h := range p.nets[testNet.id].held {
		h.gen = 0 // bound before the reload's list
		p.nets[testNet.id].held[id] = h
	}
	a, err := p.reserve(ctx, testNet, "", l.engine(nobody))
	if err != nil || l.calls != 2 || a.String() == "10.9.0.4" {
		t.Fatalf("reserve after exhaustion = %s %v (%d loads), want a free address after a reload", a, err, l.calls)
	}
	// Everything live: an error naming the network, after one more reload.
	l.hs = nil
	for _, s := range []string{"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"} {
		l.hs = append(l.hs, ipHolder{id: "x" + s, ip: netip.MustParseAddr(s), live: true})
	}
	p.nets[testNet.id].held = map[netip.Addr]heldIP{}
	for _, h := range l.hs {
		p.nets[testNet.id].held[h.ip] = heldIP{id: h.id, live: true}
	}
	if a, err := p.reserve(ctx, testNet, "", l.engine(nobody)); err == nil {
		t.Fatalf("reserve in a full network = %s", a)
	}
	// A failing list is an error, not an address.
	l.err = errors.New("engine down")
	p.forget(testNet.id)
	if _, err := p.reserve(ctx, testNet, "", l.engine(nobody)); err == nil {
		t.Fatal("reserve with a failing list succeeded")
	}
}

func TestPoolReloadKeepsInFlight(t *testing.T) {
	ctx := context.Background()
	p := newIPPool()
	l := &loader{}
	a1, _ := p.reserve(ctx, testNet, "", l.engine(nobody)) // in flight: not in any list
	a2, _ := p.reserve(ctx, testNet, "", l.engine(nobody))
	p.bind(testNet.id, a2, "c2", "") // bound after the first list: kept
	p.net(testNet.id).rebuild(nil, 0, testNet.subnet)
	n := p.nets[testNet.id]
	if _, ok := n.held[a1]; !ok {
		t.Errorf("in-flight %s dropped by a reload", a1)
	}
	if n.held[a2].id != "c2" || n.byID["c2"] != a2 {
		t.Errorf("bound %s dropped by a reload that began before it", a2)
	}
	// A reload that began after the bind and does not list c2: gone.
	p.net(testNet.id).rebuild(nil, p.gen, testNet.subnet)
	if _, ok := n.held[a2]; ok && p.nets[testNet.id].held[a2].id == "c2" {
		t.Errorf("%s of a container the engine no longer lists kept", a2)
	}
}

func TestPoolReleaseKeepsAnAddressTakenOver(t *testing.T) {
	ctx := context.Background()
	p := newIPPool()
	// /30: one address; its holder exited; a new container takes it over.
	pn := podNetwork{id: "n30", name: "small", subnet: netip.MustParsePrefix("10.0.0.4/30"), gateway: netip.MustParseAddr("10.0.0.5")}
	l := &loader{hs: []ipHolder{{id: "dead", ip: netip.MustParseAddr("10.0.0.6")}}}
	a, err := p.reserve(ctx, pn, "", l.engine(nobody))
	if err != nil || a.String() != "10.0.0.6" {
		t.Fatalf("reserve = %s %v", a, err)
	}
	p.bind(pn.id, a, "new", "")
	p.release("dead") // the exited one is removed later
	if p.nets[pn.id].held[a].id != "new" {
		t.Fatalf("removing the exited holder freed the address of its successor")
	}
}

// A pod's new container gets the address of the pod's earlier container once
// that one no longer runs (the engine is asked); never another pod's, and
// not while the earlier one runs.
func TestPoolKeepsAPodsAddress(t *testing.T) {
	ctx := context.Background()
	l := &loader{hs: []ipHolder{
		{id: "web-0", ip: netip.MustParseAddr("10.9.0.3"), live: true, pod: "uid-web"}, // from before a restart of the runtime
	}}
	runs := map[string]bool{"web-0": true}
	var asked []string
	running := func(_ context.Context, id string) bool { asked = append(asked, id); return runs[id] }
	p := newIPPool()
	reserve := func(pod, id string) string {
		t.Helper()
		a, err := p.reserve(ctx, testNet, pod, l.engine(running))
		if err != nil {
			t.Fatal(err)
		}
		p.bind(testNet.id, a, id, pod)
		return a.String()
	}
	if a := reserve("uid-web", "web-1"); a == "10.9.0.3" {
		t.Fatalf("took %s while its holder runs", a)
	}
	runs["web-0"] = false
	p.release("web-1") // that create's container went again
	if a := reserve("uid-web", "web-2"); a != "10.9.0.3" {
		t.Fatalf("restarted pod got %s, want its address 10.9.0.3 back", a)
	}
	if a := reserve("uid-other", "other-0"); a == "10.9.0.3" {
		t.Fatalf("another pod got %s, the address of a pod whose container runs", a)
	}
	// The pod's newest holder is asked about, once a reservation.
	asked = nil
	runs["web-2"] = false
	if a := reserve("uid-web", "web-3"); a != "10.9.0.3" || !equal(asked, []string{"web-2"}) {
		t.Fatalf("second restart got %s asking %v, want 10.9.0.3 asking [web-2]", a, asked)
	}
	if l.calls != 1 {
		t.Fatalf("%d loads, want 1", l.calls)
	}
	// A container of no pod asks nothing.
	asked = nil
	reserve("", "x")
	if len(asked) != 0 {
		t.Fatalf("asked %v for a container of no pod", asked)
	}
}

// A container the engine attached by hand after the pool loaded is not
// given out again: the pool, having wrapped around the subnet, reaches the
// bottom where the engine's addresses are.
func TestPoolAvoidsTheEnginesEndpoints(t *testing.T) {
	ctx := context.Background()
	l := &loader{}
	p := newIPPool()
	var got []string
	for i := 0; i < 4; i++ { // .6 down to .3
		a, err := p.reserve(ctx, testNet, "", l.engine(nobody))
		if err != nil {
			t.Fatal(err)
		}
		p.bind(testNet.id, a, "c"+a.String(), "")
		got = append(got, a.String())
	}
	for _, a := range got[:3] {
		p.release("c" + a) // .6, .5, .4 free again
	}
	l.eps = []ipHolder{{id: "by-hand", ip: netip.MustParseAddr("10.9.0.2"), live: true}} // docker run --network
	a, err := p.reserve(ctx, testNet, "", l.engine(nobody))
	if err != nil || a.String() == "10.9.0.2" || l.calls != 1 {
		t.Fatalf("reserve = %s %v (%d loads), want anything but the engine's 10.9.0.2 without a reload", a, err, l.calls)
	}
	// A failing engine is an error, not an address.
	p2 := newIPPool()
	eng := l.engine(nobody)
	eng.endpoints = func(context.Context, podNetwork) ([]ipHolder, error) { return nil, errors.New("engine down") }
	if a, err := p2.reserve(ctx, testNet, "", eng); err == nil {
		t.Fatalf("reserve with a failing engine = %s", a)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
