// Package runtimetest is the contract suite every runtime.Runtime must pass
// (see the runtime package doc). runtime/fake runs it always; runtime/docker
// runs it against the local engine and fails when there is none.
package runtimetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/runtime"
)

// Harness adapts one implementation to the suite.
type Harness struct {
	// New returns a runtime whose containers the test may create; the
	// suite removes what it created.
	New func(t *testing.T) runtime.Runtime
	// PauseImage and AppImage are present images: a pause container and
	// a long-running app (the test web server).
	PauseImage, AppImage string
	// ExecOK and ExecFail are commands that exit 0 and non-zero in AppImage.
	ExecOK, ExecFail []string
	// Crash makes a running container die with a non-zero exit code from
	// outside (docker kill).
	Crash func(t *testing.T, rt runtime.Runtime, id string)
	// LogContains is text the app container writes when it starts.
	LogContains string
	// HostPort is a free host port for the port-binding cases.
	HostPort int
	// Network names a pod network the suite may create and remove (name
	// and bridge unique to this run), and Subnets two IPv4 /24s it may use
	// for it, first one then the other.
	Network runtime.NetworkSpec
	Subnets [2]string
}

var seq atomic.Int64

// uniq returns a name unique within the process and across runs.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e9, seq.Add(1))
}

func podLabels(uid, name, ctrName string) map[string]string {
	return map[string]string{
		runtime.LabelPodUID: uid, runtime.LabelPodNamespace: "default", runtime.LabelPodName: name,
		runtime.LabelContainerName: ctrName, runtime.LabelSpecHash: "abc", runtime.LabelAttempt: "0",
	}
}

// createAndStart creates a container and starts it (a failed start removes
// it: see Runtime.Start).
func createAndStart(ctx context.Context, rt runtime.Runtime, spec runtime.ContainerSpec) (string, error) {
	id, err := rt.Create(ctx, spec)
	if err != nil {
		return "", err
	}
	if err := rt.Start(ctx, id); err != nil {
		return "", err
	}
	return id, nil
}

// start creates a container and registers its removal.
func start(t *testing.T, ctx context.Context, rt runtime.Runtime, spec runtime.ContainerSpec) string {
	t.Helper()
	id, err := createAndStart(ctx, rt, spec)
	if err != nil {
		t.Fatalf("create and start %s: %v", spec.Name, err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rt.Remove(cctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("cleanup remove %s: %v", spec.Name, err)
		}
	})
	return id
}

// pod starts an infra container and an app joined to it.
func pod(t *testing.T, ctx context.Context, h Harness, rt runtime.Runtime, ports []runtime.PortBinding) (uid, infra, app string) {
	t.Helper()
	uid = uniq("uid")
	name := uniq("pod")
	infra = start(t, ctx, rt, runtime.ContainerSpec{
		Name: "k8s_net_" + name, Image: h.PauseImage, Labels: podLabels(uid, name, "net"),
		Hostname: name, Ports: ports,
	})
	app = start(t, ctx, rt, runtime.ContainerSpec{
		Name: "k8s_web_" + name, Image: h.AppImage, Labels: podLabels(uid, name, "web"),
		NetworkMode: "container:" + infra, Env: []string{"A=b"}, Memory: 64 << 20, CPUShares: 102,
	})
	return uid, infra, app
}

// Run runs the contract suite.
func Run(t *testing.T, h Harness) {
	t.Run("PodLifecycle", func(t *testing.T) { testPodLifecycle(t, h) })
	t.Run("ListFiltersByPod", func(t *testing.T) { testListFilters(t, h) })
	t.Run("MissingImage", func(t *testing.T) { testMissingImage(t, h) })
	t.Run("DuplicateName", func(t *testing.T) { testDuplicateName(t, h) })
	t.Run("MountOptionsCannotBeInjected", func(t *testing.T) { testMountInjection(t, h) })
	t.Run("HostPortConflictLeavesNothing", func(t *testing.T) { testPortConflict(t, h) })
	t.Run("JoinDeadInfraFails", func(t *testing.T) { testJoinDead(t, h) })
	t.Run("CreateThenStart", func(t *testing.T) { testCreateThenStart(t, h) })
	t.Run("Exec", func(t *testing.T) { testExec(t, h) })
	t.Run("Crash", func(t *testing.T) { testCrash(t, h) })
	t.Run("LogsAndStats", func(t *testing.T) { testLogsStats(t, h) })
	t.Run("BuildImage", func(t *testing.T) { testBuildValidation(t, h) })
	t.Run("PodNetwork", func(t *testing.T) { testPodNetwork(t, h) })
}

// inSubnet reports whether ip is a host address of subnet other than gw.
func inSubnet(ip, subnet, gw string) bool {
	a, err := netip.ParseAddr(ip)
	p, perr := netip.ParsePrefix(subnet)
	return err == nil && perr == nil && p.Contains(a) && a != p.Addr() && ip != gw
}

// testPodNetwork: a pod network is created once, reused, replaced when its
// subnet changes (its containers lose their address on it), removed; its
// infra containers get addresses in its subnet and keep port bindings.
func testPodNetwork(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	spec := h.Network
	spec.Subnet = h.Subnets[0]
	spec.Labels = map[string]string{runtime.LabelMinion: "contract"}
	t.Cleanup(func() {
		if err := rt.RemoveNetwork(context.Background(), spec.Name); err != nil {
			t.Errorf("cleanup remove network: %v", err)
		}
	})
	for _, bad := range []runtime.NetworkSpec{
		{Name: spec.Name, Bridge: "a-bridge-name-too-long", Subnet: spec.Subnet},
		{Name: spec.Name, Bridge: spec.Bridge, Subnet: "10.0.0.1/24"},
		{Name: spec.Name, Bridge: spec.Bridge, Subnet: spec.Subnet, Gateway: "192.0.2.1"},
		{Name: "", Bridge: spec.Bridge, Subnet: spec.Subnet},
	} {
		if _, err := rt.EnsureNetwork(ctx, bad); err == nil {
			t.Fatalf("EnsureNetwork(%+v) succeeded", bad)
		}
	}
	n1, err := rt.EnsureNetwork(ctx, spec)
	if err != nil {
		t.Fatalf("ensure network: %v", err)
	}
	gw := netip.MustParsePrefix(spec.Subnet).Addr().Next().String()
	if n1.ID == "" || n1.Name != spec.Name || n1.Bridge != spec.Bridge || n1.Subnet != spec.Subnet || n1.Gateway != gw || n1.Recreated ||
		n1.Labels[runtime.LabelManaged] != "true" || n1.Labels[runtime.LabelMinion] != "contract" {
		t.Fatalf("network: %+v", n1)
	}
	again, err := rt.EnsureNetwork(ctx, spec)
	if err != nil || again.ID != n1.ID || again.Recreated {
		t.Fatalf("second ensure: %+v %v, want the same network %s kept", again, err, n1.ID)
	}
	uid := uniq("uid")
	infra := func(ports []runtime.PortBinding) string {
		return start(t, ctx, rt, runtime.ContainerSpec{
			Name: uniq("k8s_net"), Image: h.PauseImage, Labels: podLabels(uid, "p", "net"),
			Hostname: "p", NetworkMode: spec.Name, Ports: ports,
		})
	}
	a := infra([]runtime.PortBinding{{HostIP: "127.0.0.1", HostPort: h.HostPort, ContainerPort: 80}})
	b := infra(nil)
	app := start(t, ctx, rt, runtime.ContainerSpec{Name: uniq("k8s_web"), Image: h.AppImage, Labels: podLabels(uid, "p", "web"), NetworkMode: "container:" + a})
	ips := map[string]bool{}
	for _, id := range []string{a, b} {
		c, err := rt.Inspect(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.State != runtime.StateRunning || !inSubnet(c.IP, spec.Subnet, gw) || ips[c.IP] {
			t.Fatalf("infra on %s: state %s ip %q, want a distinct host address in %s other than %s", spec.Name, c.State, c.IP, spec.Subnet, gw)
		}
		ips[c.IP] = true
	}
	if c, err := rt.Inspect(ctx, app); err != nil || c.State != runtime.StateRunning || c.IP != "" {
		t.Fatalf("app joined to an infra on the network: %+v %v", c, err)
	}
	// Another subnet replaces the network; the old containers lose their address.
	spec.Subnet = h.Subnets[1]
	n2, err := rt.EnsureNetwork(ctx, spec)
	if err != nil {
		t.Fatalf("ensure with another subnet: %v", err)
	}
	if !n2.Recreated || n2.ID == n1.ID || n2.Subnet != spec.Subnet {
		t.Fatalf("network after subnet change: %+v (was %+v)", n2, n1)
	}
	if c, err := rt.Inspect(ctx, b); err != nil || c.IP != "" {
		t.Fatalf("container of the replaced network: ip %q %v, want none", c.IP, err)
	}
	gw2 := netip.MustParsePrefix(spec.Subnet).Addr().Next().String()
	c := infra(nil)
	if c, err := rt.Inspect(ctx, c); err != nil || !inSubnet(c.IP, spec.Subnet, gw2) {
		t.Fatalf("infra on the new network: ip %q %v, want an address in %s", c.IP, err, spec.Subnet)
	}
	if err := rt.RemoveNetwork(ctx, spec.Name); err == nil {
		t.Fatal("removed a network a running container is attached to")
	}
	if err := rt.Remove(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := rt.RemoveNetwork(ctx, spec.Name); err != nil {
		t.Fatalf("remove network: %v", err)
	}
	if err := rt.RemoveNetwork(ctx, spec.Name); err != nil {
		t.Fatalf("remove a missing network: %v", err)
	}
	if id, err := createAndStart(ctx, rt, runtime.ContainerSpec{Name: uniq("k8s_net"), Image: h.PauseImage, Labels: podLabels(uid, "p", "net"), NetworkMode: spec.Name}); err == nil {
		rt.Remove(ctx, id)
		t.Fatal("started a container on a removed network")
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func testPodLifecycle(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	uid, infra, app := pod(t, ctx, h, rt, []runtime.PortBinding{{HostIP: "127.0.0.1", HostPort: h.HostPort, ContainerPort: 80}})
	ic, err := rt.Inspect(ctx, infra)
	if err != nil {
		t.Fatal(err)
	}
	if ic.State != runtime.StateRunning || ic.IP == "" || ic.ID != infra || ic.StartedAt.IsZero() || ic.CreatedAt.IsZero() {
		t.Fatalf("infra after start: %+v", ic)
	}
	if ic.Labels[runtime.LabelManaged] != "true" || ic.Labels[runtime.LabelPodUID] != uid || ic.Labels[runtime.LabelContainerName] != "net" {
		t.Fatalf("infra labels: %v", ic.Labels)
	}
	if !strings.HasPrefix(ic.Name, "k8s_net_") || ic.Image != h.PauseImage {
		t.Fatalf("infra name/image: %q %q", ic.Name, ic.Image)
	}
	ac, err := rt.Inspect(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if ac.State != runtime.StateRunning || ac.IP != "" {
		t.Fatalf("app after start: %+v (a joined container has no IP of its own)", ac)
	}
	if err := rt.Stop(ctx, app, 2*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	ac, err = rt.Inspect(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if ac.State != runtime.StateExited || ac.FinishedAt.IsZero() {
		t.Fatalf("app after stop: %+v", ac)
	}
	if err := rt.Stop(ctx, app, time.Second); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	running, err := rt.List(ctx, runtime.ListOptions{PodUID: uid, Running: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(running) != 1 || running[0].ID != infra {
		t.Fatalf("running containers of the pod: %+v, want only infra", running)
	}
	for _, id := range []string{app, infra} {
		if err := rt.Remove(ctx, id); err != nil {
			t.Fatalf("remove: %v", err)
		}
		if _, err := rt.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("inspect after remove: %v, want ErrNotFound", err)
		}
		if err := rt.Remove(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("second remove: %v, want ErrNotFound", err)
		}
		if err := rt.Stop(ctx, id, 0); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("stop after remove: %v, want ErrNotFound", err)
		}
	}
	all, err := rt.List(ctx, runtime.ListOptions{PodUID: uid})
	if err != nil || len(all) != 0 {
		t.Fatalf("list after removing everything: %v, %v", all, err)
	}
}

func testListFilters(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	uid1, infra1, app1 := pod(t, ctx, h, rt, nil)
	uid2, _, _ := pod(t, ctx, h, rt, nil)
	got, err := rt.List(ctx, runtime.ListOptions{PodUID: uid1})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, c := range got {
		ids[c.ID] = true
		if c.Labels[runtime.LabelPodUID] != uid1 {
			t.Fatalf("list for %s returned a container of %s", uid1, c.Labels[runtime.LabelPodUID])
		}
	}
	if len(got) != 2 || !ids[infra1] || !ids[app1] {
		t.Fatalf("list pod 1: %+v", got)
	}
	byLabel, err := rt.List(ctx, runtime.ListOptions{Labels: map[string]string{runtime.LabelPodUID: uid2, runtime.LabelContainerName: "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(byLabel) != 1 || byLabel[0].Labels[runtime.LabelPodUID] != uid2 || byLabel[0].Labels[runtime.LabelContainerName] != "web" {
		t.Fatalf("list by labels: %+v", byLabel)
	}
	all, err := rt.List(ctx, runtime.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods := map[string]int{}
	for _, c := range all {
		if c.Labels[runtime.LabelManaged] != "true" {
			t.Fatalf("list returned an unmanaged container: %+v", c)
		}
		pods[c.Labels[runtime.LabelPodUID]]++
	}
	if pods[uid1] != 2 || pods[uid2] != 2 {
		t.Fatalf("list all: per pod %v", pods)
	}
}

func testMissingImage(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	img := "kubelite-absent/" + uniq("img") + ":v0"
	ok, err := rt.HasImage(ctx, img)
	if err != nil || ok {
		t.Fatalf("HasImage(absent) = %v, %v", ok, err)
	}
	if ok, err := rt.HasImage(ctx, h.AppImage); err != nil || !ok {
		t.Fatalf("HasImage(%s) = %v, %v", h.AppImage, ok, err)
	}
	_, err = createAndStart(ctx, rt, runtime.ContainerSpec{Name: uniq("missing"), Image: img, Labels: podLabels("u", "p", "c")})
	if !errors.Is(err, runtime.ErrImageNotPresent) {
		t.Fatalf("create with absent image: %v, want ErrImageNotPresent", err)
	}
}

func testDuplicateName(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	name := uniq("dup")
	start(t, ctx, rt, runtime.ContainerSpec{Name: name, Image: h.PauseImage, Labels: podLabels("u1", "p", "net")})
	if id, err := createAndStart(ctx, rt, runtime.ContainerSpec{Name: name, Image: h.PauseImage, Labels: podLabels("u1", "p", "net")}); err == nil {
		rt.Remove(ctx, id)
		t.Fatal("second container with the same name started")
	}
}

// testMountInjection: a mount path holding ':' (bind options such as
// rshared), a relative path or a ".." element is refused at create and
// leaves no container; the only option is Mount.ReadOnly.
func testMountInjection(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	dir := t.TempDir()
	for _, m := range []runtime.Mount{
		{HostPath: dir + ":/x:rshared", ContainerPath: "/x"},
		{HostPath: dir, ContainerPath: "/x:rshared"},
		{HostPath: dir, ContainerPath: "/x:ro"},
		{HostPath: "relative/dir", ContainerPath: "/x"},
		{HostPath: dir + "/../x", ContainerPath: "/x"},
	} {
		uid := uniq("uid")
		id, err := rt.Create(ctx, runtime.ContainerSpec{Name: uniq("mount"), Image: h.PauseImage, Labels: podLabels(uid, "p", "net"), Mounts: []runtime.Mount{m}})
		if err == nil {
			rt.Remove(ctx, id)
			t.Fatalf("mount %+v: container created", m)
		}
		left, err := rt.List(ctx, runtime.ListOptions{PodUID: uid})
		if err != nil || len(left) != 0 {
			t.Fatalf("mount %+v: refused create left %+v, %v", m, left, err)
		}
	}
}

func testPortConflict(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	ports := []runtime.PortBinding{{HostIP: "127.0.0.1", HostPort: h.HostPort, ContainerPort: 80}}
	pod(t, ctx, h, rt, ports)
	uid := uniq("uid")
	id, err := createAndStart(ctx, rt, runtime.ContainerSpec{Name: uniq("conflict"), Image: h.PauseImage, Labels: podLabels(uid, "p", "net"), Ports: ports})
	if err == nil {
		rt.Remove(ctx, id)
		t.Fatal("second binding of the same host port started")
	}
	left, err := rt.List(ctx, runtime.ListOptions{PodUID: uid})
	if err != nil || len(left) != 0 {
		t.Fatalf("failed start left containers behind: %+v, %v", left, err)
	}
}

func testJoinDead(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	infra := start(t, ctx, rt, runtime.ContainerSpec{Name: uniq("net"), Image: h.PauseImage, Labels: podLabels("u2", "p", "net")})
	if err := rt.Stop(ctx, infra, time.Second); err != nil {
		t.Fatal(err)
	}
	if id, err := createAndStart(ctx, rt, runtime.ContainerSpec{Name: uniq("app"), Image: h.AppImage, Labels: podLabels("u2", "p", "web"), NetworkMode: "container:" + infra}); err == nil {
		rt.Remove(ctx, id)
		t.Fatal("joined a stopped container's network")
	}
}

func testExec(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	_, _, app := pod(t, ctx, h, rt, nil)
	// The server may need a moment to listen; exec probes start after a delay too.
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := rt.Exec(ctx, app, h.ExecOK)
		if err != nil {
			t.Fatalf("exec ok: %v", err)
		}
		if res.ExitCode == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("exec %q exit %d: %s", h.ExecOK, res.ExitCode, res.Output)
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, err := rt.Exec(ctx, app, h.ExecFail)
	if err != nil {
		t.Fatalf("exec fail: %v", err)
	}
	if res.ExitCode == 0 {
		t.Fatalf("exec %q exited 0", h.ExecFail)
	}
	if err := rt.Stop(ctx, app, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.Exec(ctx, app, h.ExecOK); err == nil {
		t.Fatal("exec in a stopped container succeeded")
	}
	if _, err := rt.Exec(ctx, "0000notthere", h.ExecOK); err == nil {
		t.Fatal("exec in a missing container succeeded")
	}
}

func testCrash(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	evctx, evcancel := context.WithCancel(ctx)
	defer evcancel()
	events, err := rt.Events(evctx)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	_, _, app := pod(t, ctx, h, rt, nil)
	h.Crash(t, rt, app)
	timeout := time.After(10 * time.Second)
	for seen := false; !seen; {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatal("event stream closed")
			}
			if ev.ContainerID == app {
				seen = true
				if ev.Labels[runtime.LabelContainerName] != "web" {
					t.Fatalf("die event labels: %v", ev.Labels)
				}
			}
		case <-timeout:
			t.Fatal("no die event for the crashed container")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := rt.Inspect(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		if c.State == runtime.StateExited {
			if c.ExitCode == 0 || c.FinishedAt.IsZero() || c.FinishedAt.Before(c.StartedAt) {
				t.Fatalf("crashed container: %+v", c)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container still %s after crash", c.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testLogsStats(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	_, _, app := pod(t, ctx, h, rt, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var buf bytes.Buffer
		if err := rt.Logs(ctx, app, runtime.LogOptions{Tail: 10}, &buf); err != nil {
			t.Fatalf("logs: %v", err)
		}
		if strings.Contains(buf.String(), h.LogContains) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs %q lack %q", buf.String(), h.LogContains)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Follow returns once the container stops.
	done := make(chan error, 1)
	go func() { done <- rt.Logs(ctx, app, runtime.LogOptions{Follow: true}, &bytes.Buffer{}) }()
	if _, err := rt.Stats(ctx, app); err != nil {
		t.Fatalf("stats: %v", err)
	}
	if err := rt.Stop(ctx, app, time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("follow logs: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("following logs did not end when the container stopped")
	}
	if err := rt.Logs(ctx, "0000notthere", runtime.LogOptions{}, &bytes.Buffer{}); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("logs of a missing container: %v, want ErrNotFound", err)
	}
}

func testBuildValidation(t *testing.T, h Harness) {
	rt := h.New(t)
	if err := rt.BuildImage(ctxT(t), runtime.ImageBuild{}); err == nil {
		t.Fatal("BuildImage without tag and Dockerfile succeeded")
	}
}

// testCreateThenStart creates an app joined to an infra that is created but
// not started, then starts both (the kubelet's overlap of the two).
func testCreateThenStart(t *testing.T, h Harness) {
	ctx := ctxT(t)
	rt := h.New(t)
	uid := uniq("uid")
	infra, err := rt.Create(ctx, runtime.ContainerSpec{Name: uniq("net"), Image: h.PauseImage, Labels: podLabels(uid, "p", "net")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Remove(context.Background(), infra) })
	app, err := rt.Create(ctx, runtime.ContainerSpec{Name: uniq("app"), Image: h.AppImage, Labels: podLabels(uid, "p", "web"), NetworkMode: "container:" + infra})
	if err != nil {
		t.Fatalf("create joined to a created infra: %v", err)
	}
	t.Cleanup(func() { rt.Remove(context.Background(), app) })
	cs, err := rt.List(ctx, runtime.ListOptions{PodUID: uid})
	if err != nil || len(cs) != 2 || cs[0].State != runtime.StateCreated || cs[1].State != runtime.StateCreated {
		t.Fatalf("created containers: %+v %v", cs, err)
	}
	if _, err := rt.Create(ctx, runtime.ContainerSpec{Name: uniq("absent"), Image: "kubelite-absent/x:v0", Labels: podLabels(uid, "p", "x")}); !errors.Is(err, runtime.ErrImageNotPresent) {
		t.Fatalf("create with an absent image: %v", err)
	}
	if err := rt.Start(ctx, infra); err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(ctx, app); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{infra, app} {
		c, err := rt.Inspect(ctx, id)
		if err != nil || c.State != runtime.StateRunning {
			t.Fatalf("after start: %+v %v", c, err)
		}
	}
	// A start that fails removes the container.
	if err := rt.Stop(ctx, infra, time.Second); err != nil {
		t.Fatal(err)
	}
	app2, err := rt.Create(ctx, runtime.ContainerSpec{Name: uniq("app2"), Image: h.AppImage, Labels: podLabels(uid, "p", "web2"), NetworkMode: "container:" + infra})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(ctx, app2); err == nil {
		rt.Remove(ctx, app2)
		t.Fatal("started an app joined to a stopped infra")
	}
	if _, err := rt.Inspect(ctx, app2); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("failed start left the container: %v", err)
	}
}
