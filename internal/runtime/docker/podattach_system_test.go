package docker_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"kubelite/internal/images"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/docker"
	"kubelite/internal/testutil"
)

// TestPodAttachOnDocker starts pods the runtime attaches itself
// (PodAttachKubelet, the default) on a real engine: two without host ports
// (network mode none, a veth each), one with a host port (the engine's
// network at an address the runtime chose), each an infra container and a
// web server joined to it. Their addresses are distinct host addresses of
// the subnet, each pod answers on its address from the host and from the
// other pod, the host port answers, /etc/hosts names the pod; after the
// cleanup (which runs on failure too) no container, veth or network is
// left.
func TestPodAttachOnDocker(t *testing.T) {
	rt := newRuntime(t)
	testutil.RequireRoot(t)
	for _, tool := range []string{"ip", "nsenter", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s required: %v", tool, err)
		}
	}
	buildImages(t, rt, images.Pause, images.WebserverV1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithHost(testutil.DockerHost()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	pid := os.Getpid()
	spec := runtime.NetworkSpec{
		Name:   fmt.Sprintf("kubelite-att-%d", pid),
		Bridge: fmt.Sprintf("klat%d", pid%1e7),
		Subnet: fmt.Sprintf("10.249.%d.0/24", pid%250),
	}
	var ids []string
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
		defer ccancel()
		for i := len(ids) - 1; i >= 0; i-- {
			if err := rt.Remove(cctx, ids[i]); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		if err := rt.RemoveNetwork(cctx, spec.Name); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		for _, id := range ids {
			if _, err := net.InterfaceByName("klp" + id[:12]); err == nil {
				t.Errorf("veth klp%s left after cleanup", id[:12])
			}
			if _, err := rt.Inspect(cctx, id); err == nil {
				t.Errorf("container %s left after cleanup", id[:12])
			}
		}
		if _, err := cli.NetworkInspect(cctx, spec.Name, network.InspectOptions{}); err == nil {
			t.Errorf("network %s left after cleanup", spec.Name)
		}
	})
	nw, err := rt.EnsureNetwork(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	suffix := strconv.Itoa(pid) + "-" + time.Now().Format("150405.000000")
	pod := func(name string, ports ...runtime.PortBinding) (infra string, ip string) {
		t.Helper()
		labels := map[string]string{runtime.LabelPodUID: name + suffix}
		infra, err := createAndStart(ctx, rt, runtime.ContainerSpec{
			Name: "k8s_POD_" + name + "_" + suffix, Image: images.Pause, Hostname: name,
			Labels: labels, NetworkMode: spec.Name, Ports: ports,
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, infra)
		app, err := createAndStart(ctx, rt, runtime.ContainerSpec{
			Name: "k8s_web_" + name + "_" + suffix, Image: images.WebserverV1, Labels: labels,
			NetworkMode: "container:" + infra, Command: []string{"/webserver", "--port=80"},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, app)
		c, err := rt.Inspect(ctx, infra)
		if err != nil {
			t.Fatal(err)
		}
		return infra, c.IP
	}
	hostPort := freePort(t)
	a, ipA := pod("pa")
	_, ipB := pod("pb")
	c, ipC := pod("pc", runtime.PortBinding{HostIP: "127.0.0.1", HostPort: hostPort, ContainerPort: 80})

	subnet := netip.MustParsePrefix(spec.Subnet)
	seen := map[string]bool{nw.Gateway: true}
	for _, ip := range []string{ipA, ipB, ipC} {
		addr, err := netip.ParseAddr(ip)
		if err != nil || !subnet.Contains(addr) || addr == subnet.Addr() || seen[ip] {
			t.Fatalf("pod addresses %s %s %s (gateway %s): want distinct host addresses of %s", ipA, ipB, ipC, nw.Gateway, spec.Subnet)
		}
		seen[ip] = true
	}
	inA, err := cli.ContainerInspect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if inA.HostConfig.NetworkMode != "none" || inA.Config.Labels[docker.LabelPodVeth] != "true" {
		t.Fatalf("pa: network mode %q labels %v, want none and attached by the runtime", inA.HostConfig.NetworkMode, inA.Config.Labels)
	}
	inC, err := cli.ContainerInspect(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if ep := inC.NetworkSettings.Networks[spec.Name]; ep == nil || ep.IPAddress != ipC || inC.Config.Labels[docker.LabelPodIP] != ipC {
		t.Fatalf("pc (host port): engine endpoint %+v label %q, want the engine's network at %s", ep, inC.Config.Labels[docker.LabelPodIP], ipC)
	}

	get := func(url string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		hc := &http.Client{Timeout: 3 * time.Second}
		resp, err := hc.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		return string(b), err
	}
	for _, u := range []string{"http://" + ipA + "/", "http://" + ipB + "/", "http://" + ipC + "/", "http://127.0.0.1:" + strconv.Itoa(hostPort) + "/"} {
		testutil.Eventually(t, 30*time.Second, func() error { _, err := get(u); return err }, "GET %s from the host", u)
	}
	hosts, err := get("http://" + ipA + "/file?path=/etc/hosts")
	if err != nil || !strings.Contains(hosts, ipA) || !strings.Contains(hosts, "pa") {
		t.Fatalf("/etc/hosts of pa: %q %v, want %s pa", hosts, err, ipA)
	}
	// Pod to pod: from pa's namespace to pb and to pc.
	for _, ip := range []string{ipB, ipC} {
		out, err := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(inA.State.Pid), "-n",
			"curl", "-sS", "--max-time", "5", "http://"+ip+"/").CombinedOutput()
		if err != nil {
			t.Fatalf("pa to %s: %v: %s", ip, err, out)
		}
	}
}

// engineCPU is the CPU time (user+system, with waited-for children: the
// engine's re-executions of itself) of dockerd and containerd so far.
func engineCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ticks int64
	for _, name := range []string{"dockerd", "containerd"} {
		out, err := exec.Command("pidof", name).Output()
		if err != nil {
			tb.Fatalf("pidof %s: %v", name, err)
		}
		for _, pid := range strings.Fields(string(out)) {
			b, err := os.ReadFile("/proc/" + pid + "/stat")
			if err != nil {
				tb.Fatal(err)
			}
			s := string(b)
			f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
			for _, i := range []int{11, 12, 13, 14} {                // utime stime cutime cstime (14-17)
				n, _ := strconv.ParseInt(f[i], 10, 64)
				ticks += n
			}
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ 100
}

// selfCPU is this process's CPU time (the runtime's client and its netlink
// calls, and the benchmark's own work).
func selfCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// childrenCPU is the CPU time of this process's waited-for children (the
// attacher ran none since it speaks netlink).
func childrenCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPodStartOnNetwork creates and starts pods (an infra container on
// a pod network and a web server joined to it), 5 at a time, with the
// runtime attaching them (kubelet) or the engine (docker), and reports the
// engine's CPU per pod (dockerd and containerd; the shims are not counted;
// anything else the engine does meanwhile is), this process's CPU per pod
// (self-ms/pod: the runtime's client and netlink calls) and the CPU of the commands
// the runtime ran (exec-ms/pod: none since the attacher speaks netlink; ip
// and nsenter took 22-25 ms a pod before).
// The pods are removed with the timer stopped.
//
//	go test -run '^$' -bench PodStartOnNetwork -benchtime 20x -count 6 ./internal/runtime/docker/
func BenchmarkPodStartOnNetwork(b *testing.B) {
	testutil.RequireDocker(b)
	testutil.RequireRoot(b)
	setup, err := docker.New(testutil.DockerHost())
	if err != nil {
		b.Fatal(err)
	}
	defer setup.Close()
	buildImages(b, setup, images.Pause, images.WebserverV1)
	pid := os.Getpid()
	spec := runtime.NetworkSpec{Name: fmt.Sprintf("kubelite-attb-%d", pid), Bridge: fmt.Sprintf("klab%d", pid%1e7), Subnet: fmt.Sprintf("10.248.%d.0/24", pid%250)}
	for _, mode := range []string{docker.PodAttachKubelet, docker.PodAttachDocker} {
		b.Run(mode, func(b *testing.B) {
			rt, err := docker.New(testutil.DockerHost(), docker.WithPodAttach(mode))
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close()
			ctx := context.Background()
			if _, err := rt.EnsureNetwork(ctx, spec); err != nil {
				b.Fatal(err)
			}
			defer rt.RemoveNetwork(ctx, spec.Name)
			ids := make([][]string, b.N)
			defer func() {
				for _, pod := range ids {
					for i := len(pod) - 1; i >= 0; i-- {
						_ = rt.Remove(ctx, pod[i])
					}
				}
			}()
			suffix := fmt.Sprintf("%d-%s", pid, time.Now().Format("150405.000000"))
			sem := make(chan struct{}, 5)
			errs := make(chan error, b.N)
			cpu0, kids0, self0 := engineCPU(b), childrenCPU(b), selfCPU(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sem <- struct{}{}
				go func() {
					defer func() { <-sem }()
					name := fmt.Sprintf("%s_%d_%s", mode, i, suffix)
					infra, err := createAndStart(ctx, rt, runtime.ContainerSpec{Name: "k8s_POD_" + name, Image: images.Pause, Hostname: "p", NetworkMode: spec.Name,
						Labels: map[string]string{runtime.LabelPodUID: name}})
					if err != nil {
						errs <- err
						return
					}
					ids[i] = append(ids[i], infra)
					app, err := createAndStart(ctx, rt, runtime.ContainerSpec{Name: "k8s_web_" + name, Image: images.WebserverV1, NetworkMode: "container:" + infra,
						Labels: map[string]string{runtime.LabelPodUID: name}, Command: []string{"/webserver", "--port=80"}})
					if err != nil {
						errs <- err
						return
					}
					ids[i] = append(ids[i], app)
				}()
			}
			for range cap(sem) {
				sem <- struct{}{}
			}
			b.StopTimer()
			cpu, kids, self := engineCPU(b)-cpu0, childrenCPU(b)-kids0, selfCPU(b)-self0
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "engine-ms/pod")
			b.ReportMetric(float64(kids.Microseconds())/1000/float64(b.N), "exec-ms/pod")
			b.ReportMetric(float64(self.Microseconds())/1000/float64(b.N), "self-ms/pod")
		})
	}
}
