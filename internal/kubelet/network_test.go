package kubelet

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// setPodCIDR does what the master's node controller does: it records cidr
// on the kubelet's minion once the kubelet registered it.
func (e *env) setPodCIDR(cidr string) {
	e.t.Helper()
	testutil.Eventually(e.t, 10*time.Second, func() error {
		o, err := e.st.Get(e.ctx, api.Minions, "", e.node)
		if err != nil {
			return err
		}
		m := o.(*api.Minion)
		m.PodCIDR = cidr
		_, err = e.st.Update(e.ctx, m) // a conflict with the kubelet's own write: again
		return err
	}, "set podCIDR of %s", e.node)
}

func inCIDR(ip, cidr string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && netip.MustParsePrefix(cidr).Contains(a)
}

// TestFakeBridgeNetwork: in bridge mode no pod starts before the minion has
// a podCIDR; then the pod network is made with it and pods get addresses in
// it; a new podCIDR replaces the network and every pod's infra container.
func TestFakeBridgeNetwork(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, func(c *Config) { c.Network = NetworkBridge })
	e.createPod(webPod("web"))
	// Registered, no podCIDR yet: nothing runs, no network.
	m := e.waitMinion(5 * time.Second)
	e.waitPod("web", 5*time.Second, "waiting for the pod network", func(p *api.Pod) bool {
		w := p.CurrentState.Info.Status("web").State.Waiting
		return p.CurrentState.Phase == api.PodPhasePending && w != nil && w.Reason == WaitingForNetwork
	})
	if cs, _ := rt.List(e.ctx, runtime.ListOptions{}); len(cs) != 0 || len(rt.Networks()) != 0 {
		t.Fatalf("before a podCIDR: containers %v, networks %v", cs, rt.Networks())
	}
	if m.PodCIDR != "" {
		t.Fatal("the kubelet set its own podCIDR")
	}

	e.setPodCIDR("10.244.3.0/24")
	p := e.waitPod("web", 10*time.Second, "Running with an IP in 10.244.3.0/24", func(p *api.Pod) bool {
		return running(p) && inCIDR(p.CurrentState.PodIP, "10.244.3.0/24")
	})
	if p.CurrentState.PodIP == "10.244.3.1" {
		t.Fatalf("pod got the gateway's address")
	}
	nws := rt.Networks()
	if len(nws) != 1 || nws[0].Name != DefaultPodNetwork || nws[0].Bridge != DefaultPodBridge || nws[0].Subnet != "10.244.3.0/24" || nws[0].Gateway != "10.244.3.1" ||
		nws[0].Labels[runtime.LabelMinion] != e.node {
		t.Fatalf("networks: %+v", nws)
	}
	infraID := strings.TrimPrefix(p.CurrentState.Info.Status(InfraStatusName).ContainerID, "docker://")
	if spec, ok := rt.Spec(infraID); !ok || spec.NetworkMode != DefaultPodNetwork || len(spec.Ports) != 1 || spec.Ports[0].HostPort != 8080 {
		t.Fatalf("infra spec: %+v", spec)
	}

	// A new podCIDR: the network is replaced, the pod follows.
	e.setPodCIDR("10.244.4.0/24")
	p = e.waitPod("web", 10*time.Second, "Running with an IP in 10.244.4.0/24", func(p *api.Pod) bool {
		return running(p) && inCIDR(p.CurrentState.PodIP, "10.244.4.0/24")
	})
	if nws := rt.Networks(); len(nws) != 1 || nws[0].Subnet != "10.244.4.0/24" {
		t.Fatalf("networks after the change: %+v", nws)
	}
	if id := strings.TrimPrefix(p.CurrentState.Info.Status(InfraStatusName).ContainerID, "docker://"); id == infraID {
		t.Fatal("infra container kept across a podCIDR change")
	}
}

// TestFakeBridgeRestartAdopts: a restarted kubelet in bridge mode syncs
// nothing until the network is back, then keeps the running containers.
func TestFakeBridgeRestartAdopts(t *testing.T) {
	rt := fakeRT()
	st := memory.New()
	bridge := func(c *Config) { c.Network = NetworkBridge }
	e := startKubelet(t, st, rt, bridge)
	e.createPod(webPod("adopt"))
	e.setPodCIDR("10.244.7.0/24")
	before := e.waitPod("adopt", 10*time.Second, "Running on 10.244.7.0/24", func(p *api.Pod) bool {
		return running(p) && inCIDR(p.CurrentState.PodIP, "10.244.7.0/24")
	})
	e.stopK()
	rt.Calls()
	e2 := startKubelet(t, st, rt, func(c *Config) { bridge(c); c.NodeName = e.node })
	select {
	case <-e2.k.net.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("pod network not ready after a restart")
	}
	if err := e2.k.SyncPod(e2.ctx, "default/adopt"); err != nil {
		t.Fatal(err)
	}
	for _, c := range rt.Calls() {
		if strings.HasPrefix(c, "start") || strings.HasPrefix(c, "stop") || strings.HasPrefix(c, "remove") || strings.HasPrefix(c, "network") {
			t.Fatalf("restarted kubelet touched containers or the network: %q", c)
		}
	}
	after := e2.getPod("adopt")
	if after.CurrentState.Info.Status("web").ContainerID != before.CurrentState.Info.Status("web").ContainerID || after.CurrentState.PodIP != before.CurrentState.PodIP {
		t.Fatalf("pod changed across a kubelet restart: %s -> %s", dump(before.CurrentState), dump(after.CurrentState))
	}
}

// TestFakeNetworkNoneKeepsDefaultBridge: without bridge mode nothing waits
// for a podCIDR and no network is made.
func TestFakeNetworkNoneKeepsDefaultBridge(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, func(c *Config) { c.Network = NetworkNone })
	e.createPod(webPod("web"))
	p := e.waitPod("web", 10*time.Second, "Running", running)
	if len(rt.Networks()) != 0 || !strings.HasPrefix(p.CurrentState.PodIP, "127.") {
		t.Fatalf("network none: networks %v, pod IP %s", rt.Networks(), p.CurrentState.PodIP)
	}
}

func TestConfigRejectsUnknownNetwork(t *testing.T) {
	_, err := New(Config{NodeName: "m", Store: memory.New(), Runtime: fakeRT(), Network: "flannel"})
	if err == nil || !strings.Contains(err.Error(), "flannel") {
		t.Fatalf("New with network flannel: %v", err)
	}
}
