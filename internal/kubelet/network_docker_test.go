package kubelet

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/docker"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// getInNetns GETs url with curl inside the network namespace of process pid.
func getInNetns(pid int, url string, timeout time.Duration) (string, error) {
	out, err := exec.Command("nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", pid), "--",
		"curl", "-sS", "-m", strconv.Itoa(int(timeout/time.Second)), url).CombinedOutput()
	return string(out), err
}

// containerPid asks the engine for a running container's process id.
func containerPid(t *testing.T, id string) int {
	t.Helper()
	out, err := exec.Command("docker", "-H", testutil.DockerHost(), "inspect", "-f", "{{.State.Pid}}", id).Output()
	if err != nil {
		t.Fatalf("docker inspect %s: %v", id, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid of %s: %q", id, out)
	}
	return pid
}

var netSeq atomic.Int64

// dockerBridgeEnv is dockerEnv with the kubelet in bridge mode on a pod
// network of its own (name, bridge and subnet unique to this process), its
// minion given podCIDR cidr. Cleanup stops the kubelet, removes the pods'
// containers, then the network.
func dockerBridgeEnv(t *testing.T) (e *env, rt *docker.Runtime, prefix, cidr string) {
	t.Helper()
	pid, n := os.Getpid(), int(netSeq.Add(1))
	name := fmt.Sprintf("kubelite-kt-%d-%d", pid, n)
	bridge := fmt.Sprintf("klkt%d-%d", pid%1e6, n%100)
	cidr = fmt.Sprintf("10.253.%d.0/24", (pid+n*41)%250)
	e, rt, prefix = dockerEnv(t, memory.New(), func(c *Config) {
		c.Network, c.PodNetwork, c.PodBridge = NetworkBridge, name, bridge
	})
	// Registered last, so it runs first.
	t.Cleanup(func() {
		e.stopK()
		removePrefix(t, rt, prefix)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := rt.RemoveNetwork(ctx, name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	e.setPodCIDR(cidr)
	return e, rt, prefix, cidr
}

// TestDockerBridgeNetwork: in bridge mode, on the real engine, pods get
// addresses in the minion's podCIDR, reach each other by pod IP (the server
// sees the client pod's own address), and hostPort still answers.
func TestDockerBridgeNetwork(t *testing.T) {
	e, rt, prefix, cidr := dockerBridgeEnv(t)
	name, bridge := e.k.cfg.PodNetwork, e.k.cfg.PodBridge
	port := freeTCPPort(t)
	a, b := prefix+"-a", prefix+"-b"
	e.createPod(dockerWebPod(a, port))
	e.createPod(dockerWebPod(b, 0))
	inNet := func(p *api.Pod) bool { return running(p) && inCIDR(p.CurrentState.PodIP, cidr) }
	pa := e.waitPod(a, 60*time.Second, "Running on "+cidr, inNet)
	pb := e.waitPod(b, 60*time.Second, "Running on "+cidr, inNet)
	t.Logf("pod IPs %s and %s in %s", pa.CurrentState.PodIP, pb.CurrentState.PodIP, cidr)
	if pa.CurrentState.PodIP == pb.CurrentState.PodIP {
		t.Fatalf("both pods have %s", pa.CurrentState.PodIP)
	}
	out, err := exec.Command("ip", "-br", "addr", "show", "dev", bridge).CombinedOutput()
	gw := strings.TrimSuffix(cidr, "0/24") + "1/24"
	if err != nil || !strings.Contains(string(out), gw) {
		t.Fatalf("bridge %s: %q %v, want address %s", bridge, out, err, gw)
	}

	// Pod to pod by pod IP, both ways, no NAT.
	for _, c := range []struct{ from, to *api.Pod }{{pa, pb}, {pb, pa}} {
		infra := strings.TrimPrefix(c.from.CurrentState.Info.Status(InfraStatusName).ContainerID, "docker://")
		pid := containerPid(t, infra)
		addr := "http://" + c.to.CurrentState.PodIP + "/"
		var body string
		testutil.Eventually(t, 10*time.Second, func() error {
			var err error
			if body, err = getInNetns(pid, addr, 2*time.Second); err != nil {
				return err
			}
			if !strings.Contains(body, "pod: "+c.to.ID+"\n") {
				return fmt.Errorf("answer %q", body)
			}
			return nil
		}, "pod %s reaches %s", c.from.ID, addr)
		if !strings.Contains(body, "remote: "+c.from.CurrentState.PodIP+":") {
			t.Fatalf("pod %s to %s: %q, want an answer from %s seeing %s", c.from.ID, addr, body, c.to.ID, c.from.CurrentState.PodIP)
		}
		t.Logf("pod %s (%s) reached %s, which saw remote %s", c.from.ID, c.from.CurrentState.PodIP, addr, c.from.CurrentState.PodIP)
	}
	// hostPort on the pod network.
	body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 10*time.Second)
	if !strings.Contains(body, "pod: "+a+"\n") {
		t.Fatalf("hostPort answer %q does not name pod %s", body, a)
	}
	// The network is the engine's, labelled as kubelite's.
	nw, err := rt.EnsureNetwork(e.ctx, runtime.NetworkSpec{Name: name, Bridge: bridge, Subnet: cidr})
	if err != nil || nw.Recreated || nw.Labels[runtime.LabelMinion] != e.node {
		t.Fatalf("network as the kubelet made it: %+v %v", nw, err)
	}

	// A new podCIDR: the network is replaced and the pods follow, hostPort too.
	p := netip.MustParsePrefix(cidr)
	cidr2 := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 250, p.Addr().As4()[2], 0}), 24).String()
	e.setPodCIDR(cidr2)
	inNet2 := func(p *api.Pod) bool { return running(p) && inCIDR(p.CurrentState.PodIP, cidr2) }
	pa = e.waitPod(a, 60*time.Second, "Running on "+cidr2, inNet2)
	e.waitPod(b, 60*time.Second, "Running on "+cidr2, inNet2)
	if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 10*time.Second); !strings.Contains(body, "pod: "+a+"\n") {
		t.Fatalf("hostPort after the podCIDR change: %q", body)
	}
	t.Logf("after the podCIDR change to %s: pod %s has %s", cidr2, a, pa.CurrentState.PodIP)
}

// TestDockerSoloPod: on the real engine, a pod of one container without host
// ports runs as that container alone (PodInfra auto), at an address in the
// podCIDR that answers from the host; killed, its container is replaced and
// the pod keeps its address.
func TestDockerSoloPod(t *testing.T) {
	e, rt, prefix, cidr := dockerBridgeEnv(t)
	id := prefix + "-solo"
	e.createPod(dockerWebPod(id, 0))
	inNet := func(p *api.Pod) bool { return running(p) && inCIDR(p.CurrentState.PodIP, cidr) }
	p := e.waitPod(id, 60*time.Second, "Running on "+cidr, inNet)
	ip := p.CurrentState.PodIP
	podCtrs := func() []runtime.Container {
		t.Helper()
		cs, err := rt.List(e.ctx, runtime.ListOptions{PodUID: p.UID})
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	cs := podCtrs()
	if len(cs) != 1 || cs[0].Labels[runtime.LabelContainerName] != "web" || cs[0].Labels[LabelOwnNetwork] != "true" || cs[0].IP != ip {
		t.Fatalf("containers of a solo pod: %+v, want its app alone holding %s", cs, ip)
	}
	if net := p.CurrentState.Info.Status(InfraStatusName); net.ContainerID != p.CurrentState.Info.Status("web").ContainerID || net.State.Running == nil {
		t.Fatalf("net entry %+v, want the app's", net)
	}
	if body := httpGet(t, "http://"+ip+"/", 10*time.Second); !strings.Contains(body, "pod: "+id+"\n") {
		t.Fatalf("pod IP answer %q does not name the pod", body)
	}
	// Killed: replaced, at the same address.
	if err := rt.Kill(e.ctx, cs[0].ID, "KILL"); err != nil {
		t.Fatal(err)
	}
	p = e.waitPod(id, 30*time.Second, "restarted", func(p *api.Pod) bool {
		return running(p) && p.CurrentState.Info.Status("web").RestartCount == 1 && p.CurrentState.PodIP != ""
	})
	if p.CurrentState.PodIP != ip {
		t.Fatalf("after a restart the pod has %s, want its address %s", p.CurrentState.PodIP, ip)
	}
	if body := httpGet(t, "http://"+ip+"/", 10*time.Second); !strings.Contains(body, "pod: "+id+"\n") {
		t.Fatalf("pod IP answer after the restart %q", body)
	}
	t.Logf("solo pod %s at %s, restarted at the same address", id, ip)
}
