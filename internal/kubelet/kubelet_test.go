package kubelet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/fake"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

var nodeSeq atomic.Int64

type env struct {
	t     testing.TB
	ctx   context.Context
	st    *memory.Store
	rt    runtime.Runtime
	k     *Kubelet
	root  string
	node  string
	stopK func()
}

// startKubelet runs a kubelet on rt against a memory store.
func startKubelet(t testing.TB, st *memory.Store, rt runtime.Runtime, mod func(*Config)) *env {
	t.Helper()
	// A bound on a hung test, not a figure: TestDockerStartupLatency runs 100
	// pods on the real engine, 3 minutes under `make test` with both cores busy.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, st: st, rt: rt, root: t.TempDir(), node: fmt.Sprintf("m%d-%d", os.Getpid(), nodeSeq.Add(1))}
	// A fresh memory store is at revision 0, which a watch reads as "from
	// now": the informer's list-then-watch could miss a pod created in
	// between. Move the store off 0 first (etcd never lists at 0).
	if st.Revision() == 0 {
		if _, err := st.Create(ctx, &api.Event{TypeMeta: api.TypeMeta{ID: "seed", Namespace: "kube-system"}}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{NodeName: e.node, HostIP: "127.0.0.1", Store: st, Runtime: rt, RootDir: e.root,
		SyncFrequency: time.Hour, HeartbeatInterval: time.Hour, GracePeriod: 2 * time.Second, ProbePeriod: 200 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	e.node = cfg.NodeName
	k, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.k = k
	kctx, kcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- k.Run(kctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("kubelet stopped at start: %v", err)
	}
	stopped := false
	e.stopK = func() {
		if stopped {
			return
		}
		stopped = true
		kcancel()
		if err := <-done; err != nil {
			t.Errorf("kubelet Run: %v", err)
		}
	}
	t.Cleanup(e.stopK)
	return e
}

func (e *env) createPod(p *api.Pod) *api.Pod {
	e.t.Helper()
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	if p.UID == "" {
		p.UID = fmt.Sprintf("uid-%s-%d", p.ID, time.Now().UnixNano())
	}
	p.DesiredState.Host = e.node
	o, err := e.st.Create(e.ctx, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return o.(*api.Pod)
}

func (e *env) getPod(id string) *api.Pod {
	o, err := e.st.Get(e.ctx, api.Pods, "default", id)
	if err != nil {
		e.t.Fatal(err)
	}
	return o.(*api.Pod)
}

// waitPod waits (on a watch) until cond holds for the pod.
func (e *env) waitPod(id string, timeout time.Duration, what string, cond func(*api.Pod) bool) *api.Pod {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, timeout)
	defer cancel()
	ch, err := e.st.Watch(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	p := e.getPod(id)
	for !cond(p) {
		select {
		case ev, ok := <-ch:
			if !ok {
				e.t.Fatalf("pod %s: timed out waiting for %s; last state %s", id, what, dump(p.CurrentState))
			}
			if ev.Object.Meta().ID == id && ev.Type != store.Deleted {
				p = ev.Object.(*api.Pod)
			}
		case <-ctx.Done():
			e.t.Fatalf("pod %s: timed out waiting for %s; last state %s", id, what, dump(p.CurrentState))
		}
	}
	return p
}

// waitMinion waits until the kubelet has registered its minion and returns it.
func (e *env) waitMinion(timeout time.Duration) *api.Minion {
	e.t.Helper()
	var m *api.Minion
	testutil.Eventually(e.t, timeout, func() error {
		o, err := e.st.Get(e.ctx, api.Minions, "", e.node)
		if err != nil {
			return err
		}
		m = o.(*api.Minion)
		return nil
	}, "minion %s registered", e.node)
	return m
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func running(p *api.Pod) bool { return p.CurrentState.Phase == api.PodPhaseRunning }

func fakeRT() *fake.Runtime {
	return fake.New(fake.Options{Images: []string{"kubelite/pause:1", "kubelite/webserver:v1"}, PullFails: true, Record: true})
}

func webPod(id string) *api.Pod {
	return &api.Pod{TypeMeta: api.TypeMeta{ID: id}, DesiredState: api.PodState{Manifest: api.ContainerManifest{
		Containers: []api.Container{{Name: "web", Image: "kubelite/webserver:v1", Ports: []api.Port{{ContainerPort: 80, HostPort: 8080}}}},
	}}}
}

func TestFakePodLifecycle(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, nil)
	// The minion registers itself.
	m := e.waitMinion(5 * time.Second)
	if m.HostIP != "127.0.0.1" || m.Status.Condition != api.MinionReady {
		t.Fatalf("minion: %+v", m)
	}
	e.createPod(webPod("web"))
	p := e.waitPod("web", 10*time.Second, "Running", running)
	st := p.CurrentState
	if st.Status != api.PodRunning || st.PodIP == "" || st.Host != e.node || st.HostIP != "127.0.0.1" {
		t.Fatalf("current state: %s", dump(st))
	}
	if st.Info.Status("web").State.Running == nil || st.Info.Status("net").State.Running == nil || st.Info.Status("web").RestartCount != 0 || !strings.HasPrefix(st.Info.Status("web").ContainerID, "docker://") {
		t.Fatalf("info: %s", dump(st.Info))
	}
	// A resync of an unchanged pod writes nothing.
	for i := 0; i < 3; i++ {
		if err := e.k.SyncPod(e.ctx, "default/web"); err != nil {
			t.Fatal(err)
		}
	}
	if rv := e.getPod("web").ResourceVersion; rv != p.ResourceVersion {
		t.Fatalf("resync of an unchanged pod rewrote it: rv %d -> %d\n%s\n%s", p.ResourceVersion, rv, dump(p.CurrentState), dump(e.getPod("web").CurrentState))
	}
	// Crash: restarted at once with restartCount 1.
	id := strings.TrimPrefix(st.Info.Status("web").ContainerID, "docker://")
	if err := rt.Exit(id, 137); err != nil {
		t.Fatal(err)
	}
	p = e.waitPod("web", 5*time.Second, "restartCount 1", func(p *api.Pod) bool {
		return p.CurrentState.Info.Status("web").RestartCount == 1 && p.CurrentState.Info.Status("web").State.Running != nil
	})
	if p.CurrentState.Info.Status("web").ContainerID == "docker://"+id {
		t.Fatal("restart reported the dead container")
	}
	// Delete: everything goes.
	if _, err := e.st.Delete(e.ctx, api.Pods, "default", "web"); err != nil {
		t.Fatal(err)
	}
	waitNoContainers(t, rt, 5*time.Second)
}

func waitNoContainers(t *testing.T, rt runtime.Runtime, timeout time.Duration) {
	t.Helper()
	testutil.Eventually(t, timeout, func() error {
		cs, err := rt.List(context.Background(), runtime.ListOptions{})
		if err != nil {
			return err
		}
		if len(cs) != 0 {
			return fmt.Errorf("%d containers left: %+v", len(cs), cs)
		}
		return nil
	}, "no containers left")
}

func TestFakeImagePullFailure(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, nil)
	p := webPod("nopull")
	p.DesiredState.Manifest.Containers[0].Image = "fedora/missing"
	e.createPod(p)
	got := e.waitPod("nopull", 5*time.Second, "ErrImagePull", func(p *api.Pod) bool {
		w := p.CurrentState.Info.Status("web").State.Waiting
		return w != nil && strings.HasPrefix(w.Reason, "ErrImagePull: ") && strings.Contains(w.Reason, "pull access denied")
	})
	if got.CurrentState.Phase != api.PodPhasePending || got.CurrentState.Status != api.PodWaiting {
		t.Fatalf("state with a failed pull: %s", dump(got.CurrentState))
	}
	// Back-off: no second pull right away.
	if n := rt.Pulls(); n != 1 {
		t.Fatalf("%d pulls, want 1 before the back-off ends", n)
	}
	evs, _, err := e.st.List(e.ctx, api.Events, store.ListOptions{})
	if err != nil || len(evs) == 0 {
		t.Fatalf("no event for the failed pull: %v", err)
	}
}

func TestFakeLivenessExecProbe(t *testing.T) {
	rt := fakeRT()
	var healthy atomic.Bool
	healthy.Store(true)
	rt.SetExec(func(c runtime.Container, cmd []string) runtime.ExecResult {
		if c.Labels[runtime.LabelAttempt] == "0" && !healthy.Load() {
			return runtime.ExecResult{ExitCode: 1, Output: []byte("unhealthy")}
		}
		return runtime.ExecResult{}
	})
	e := startKubelet(t, memory.New(), rt, nil)
	p := webPod("probed")
	p.DesiredState.Manifest.Containers[0].LivenessProbe = &api.LivenessProbe{Exec: &api.ExecAction{Command: []string{"/webserver", "healthcheck"}}}
	e.createPod(p)
	e.waitPod("probed", 5*time.Second, "Running", running)
	if e.k.prober.count() != 1 {
		t.Fatalf("%d probe workers, want 1", e.k.prober.count())
	}
	healthy.Store(false)
	e.waitPod("probed", 5*time.Second, "restart after the failed probe", func(p *api.Pod) bool {
		return p.CurrentState.Info.Status("web").RestartCount == 1 && p.CurrentState.Info.Status("web").State.Running != nil
	})
	evs, _, _ := e.st.List(e.ctx, api.Events, store.ListOptions{})
	found := false
	for _, o := range evs {
		if ev := o.(*api.Event); ev.Reason == EventUnhealthy && strings.Contains(ev.Message, "exited 1") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no unhealthy event among %s", dump(evs))
	}
}

func TestFakeHTTPProbeAgainstLoopback(t *testing.T) {
	status := make(chan int, 1)
	status <- 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := <-status
		status <- c
		w.WriteHeader(c)
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, nil)
	p := webPod("httpprobe")
	p.DesiredState.Manifest.Containers[0].LivenessProbe = &api.LivenessProbe{HTTPGet: &api.HTTPGetAction{Path: "/healthz", Host: "127.0.0.1", Port: api.NewIntOrStringFromInt(port)}}
	e.createPod(p)
	e.waitPod("httpprobe", 5*time.Second, "Running", running)
	<-status
	status <- 500
	e.waitPod("httpprobe", 5*time.Second, "restart after the failed probe", func(p *api.Pod) bool {
		return p.CurrentState.Info.Status("web").RestartCount >= 1
	})
}

func TestFakeRestartAdoptsContainers(t *testing.T) {
	rt := fakeRT()
	st := memory.New()
	e := startKubelet(t, st, rt, nil)
	e.createPod(webPod("adopt"))
	before := e.waitPod("adopt", 5*time.Second, "Running", running)
	e.stopK()
	rt.Calls()
	e2 := startKubelet(t, st, rt, func(c *Config) { c.NodeName = e.node })
	if err := e2.k.SyncPod(e2.ctx, "default/adopt"); err != nil {
		t.Fatal(err)
	}
	for _, c := range rt.Calls() {
		if strings.HasPrefix(c, "start") || strings.HasPrefix(c, "stop") || strings.HasPrefix(c, "remove") {
			t.Fatalf("restarted kubelet touched containers: %q", c)
		}
	}
	after := e2.getPod("adopt")
	if after.CurrentState.Info.Status("web").ContainerID != before.CurrentState.Info.Status("web").ContainerID {
		t.Fatalf("container changed across a kubelet restart")
	}
}

func TestFakeEmptyDirRemovedWithPod(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, nil)
	p := webPod("vol")
	p.DesiredState.Manifest.Volumes = []api.Volume{{Name: "scratch"}, {Name: "conf", Source: &api.VolumeSource{HostDir: &api.HostDir{Path: "/etc/httpd/conf"}}}}
	p.DesiredState.Manifest.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "scratch", MountPath: "/scratch"}, {Name: "conf", MountPath: "/etc/httpd/conf", ReadOnly: true}}
	created := e.createPod(p)
	got := e.waitPod("vol", 5*time.Second, "Running", running)
	dir := EmptyDirPath(e.root, created.UID, "scratch")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("emptyDir %s: %v", dir, err)
	}
	spec, _ := rt.Spec(strings.TrimPrefix(got.CurrentState.Info.Status("web").ContainerID, "docker://"))
	want := []runtime.Mount{{HostPath: dir, ContainerPath: "/scratch"}, {HostPath: "/etc/httpd/conf", ContainerPath: "/etc/httpd/conf", ReadOnly: true}}
	if fmt.Sprint(spec.Mounts) != fmt.Sprint(want) {
		t.Fatalf("mounts %+v, want %+v", spec.Mounts, want)
	}
	e.st.Delete(e.ctx, api.Pods, "default", "vol")
	waitNoContainers(t, rt, 5*time.Second)
	testutil.Eventually(t, 5*time.Second, func() bool {
		_, err := os.Stat(filepath.Dir(filepath.Dir(dir)))
		return os.IsNotExist(err)
	}, "pod dir %s removed", filepath.Dir(filepath.Dir(dir)))
}

func TestFakePrivilegedRefused(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, nil)
	p := webPod("priv")
	p.DesiredState.Manifest.Containers[0].Privileged = true
	e.createPod(p)
	e.waitPod("priv", 5*time.Second, "refused", func(p *api.Pod) bool {
		w := p.CurrentState.Info.Status("web").State.Waiting
		return w != nil && strings.Contains(w.Reason, "allow_privileged")
	})
}

func TestFakeServiceEnv(t *testing.T) {
	rt := fakeRT()
	st := memory.New()
	svc := &api.Service{TypeMeta: api.TypeMeta{ID: "redis-master", Namespace: "default"}, Port: 6379, PortalIP: "10.254.0.5"}
	if _, err := st.Create(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	e := startKubelet(t, st, rt, nil)
	p := webPod("envpod")
	p.DesiredState.Manifest.Containers[0].Env = []api.EnvVar{{Name: "A", Value: "b"}}
	e.createPod(p)
	got := e.waitPod("envpod", 5*time.Second, "Running", running)
	spec, _ := rt.Spec(strings.TrimPrefix(got.CurrentState.Info.Status("web").ContainerID, "docker://"))
	env := strings.Join(spec.Env, " ")
	for _, w := range []string{"REDIS_MASTER_SERVICE_HOST=10.254.0.5", "REDIS_MASTER_SERVICE_PORT=6379", "REDIS_MASTER_PORT=tcp://10.254.0.5:6379", "REDIS_MASTER_PORT_6379_TCP_ADDR=10.254.0.5", "A=b"} {
		if !strings.Contains(env, w) {
			t.Errorf("env %q lacks %s", env, w)
		}
	}
}

func TestHTTPServer(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, nil)
	p := e.createPod(webPod("logs"))
	got := e.waitPod("logs", 5*time.Second, "Running", running)
	rt.AppendLog(strings.TrimPrefix(got.CurrentState.Info.Status("web").ContainerID, "docker://"), "line1\nline2\n")
	srv := httptest.NewServer(e.k.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, b := get("/healthz"); c != 200 || b != "ok" {
		t.Fatalf("healthz: %d %q", c, b)
	}
	if c, b := get("/containerLogs/default/logs/web?tail=1"); c != 200 || b != "line2\n" {
		t.Fatalf("logs tail=1: %d %q", c, b)
	}
	if c, _ := get("/containerLogs/default/logs/nothere"); c != 404 {
		t.Fatalf("logs of a missing container: %d", c)
	}
	c, b := get("/podInfo?podID=logs&podNamespace=default")
	var info api.PodInfo
	if c != 200 || json.Unmarshal([]byte(b), &info) != nil || info.Status("web").State.Running == nil {
		t.Fatalf("podInfo: %d %s", c, b)
	}
	if c, _ := get("/podInfo?podID=absent"); c != 404 {
		t.Fatalf("podInfo of an absent pod: %d", c)
	}
	if c, b := get("/stats/"); c != 200 || !strings.Contains(b, `"pod": "logs"`) {
		t.Fatalf("stats: %d %s", c, b)
	}
	_ = p
}

func TestFakeBuildsInfraImageOnce(t *testing.T) {
	rt := fake.New(fake.Options{Images: []string{"kubelite/webserver:v1"}, Record: true})
	e := startKubelet(t, memory.New(), rt, func(c *Config) { c.InfraBinary = "/usr/local/bin/kubelite" })
	e.createPod(webPod("b1"))
	e.waitPod("b1", 5*time.Second, "Running", running)
	p := webPod("b2")
	p.DesiredState.Manifest.Containers[0].Ports = nil
	e.createPod(p)
	e.waitPod("b2", 5*time.Second, "Running", running)
	builds := 0
	for _, c := range rt.Calls() {
		if c == "build kubelite/pause:1" {
			builds++
		}
	}
	if builds != 1 {
		t.Fatalf("infra image built %d times, want once", builds)
	}
}

func TestFakeOrphansRemovedAtStart(t *testing.T) {
	rt := fakeRT()
	st := memory.New()
	e := startKubelet(t, st, rt, nil)
	e.createPod(webPod("orphan"))
	e.waitPod("orphan", 5*time.Second, "Running", running)
	e.stopK()
	// Deleted while the kubelet was away.
	if _, err := st.Delete(context.Background(), api.Pods, "default", "orphan"); err != nil {
		t.Fatal(err)
	}
	startKubelet(t, st, rt, func(c *Config) { c.NodeName = e.node })
	waitNoContainers(t, rt, 5*time.Second)
}

func TestFakeCrashLoopBackOffVisible(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, nil)
	e.createPod(webPod("crashy"))
	p := e.waitPod("crashy", 5*time.Second, "Running", running)
	for attempt := 0; attempt < 2; attempt++ {
		id := strings.TrimPrefix(p.CurrentState.Info.Status("web").ContainerID, "docker://")
		if err := rt.Exit(id, 1); err != nil {
			t.Fatal(err)
		}
		if attempt == 0 {
			p = e.waitPod("crashy", 5*time.Second, "first restart", func(p *api.Pod) bool {
				return p.CurrentState.Info.Status("web").RestartCount == 1 && p.CurrentState.Info.Status("web").State.Running != nil
			})
		}
	}
	p = e.waitPod("crashy", 5*time.Second, "CrashLoopBackOff", func(p *api.Pod) bool {
		w := p.CurrentState.Info.Status("web").State.Waiting
		return w != nil && strings.HasPrefix(w.Reason, "CrashLoopBackOff: back-off 10s")
	})
	if p.CurrentState.Phase != api.PodPhaseRunning || p.CurrentState.Info.Status("web").RestartCount != 1 {
		t.Fatalf("during back-off: %s", dump(p.CurrentState))
	}
}

func TestFakePullPolicies(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, nil)
	never := webPod("never")
	never.DesiredState.Manifest.Containers[0].Image = "absent/image"
	never.DesiredState.Manifest.Containers[0].ImagePullPolicy = api.PullNever
	never.DesiredState.Manifest.Containers[0].Ports = nil
	e.createPod(never)
	e.waitPod("never", 5*time.Second, "ErrImageNeverPull", func(p *api.Pod) bool {
		w := p.CurrentState.Info.Status("web").State.Waiting
		return w != nil && strings.HasPrefix(w.Reason, "ErrImageNeverPull")
	})
	if rt.Pulls() != 0 {
		t.Fatalf("PullNever pulled %d times", rt.Pulls())
	}
	always := webPod("always")
	always.DesiredState.Manifest.Containers[0].ImagePullPolicy = api.PullAlways
	always.DesiredState.Manifest.Containers[0].Ports = nil
	e.createPod(always)
	// The image is present but PullAlways pulls (and the fake has no registry).
	e.waitPod("always", 5*time.Second, "ErrImagePull", func(p *api.Pod) bool {
		w := p.CurrentState.Info.Status("web").State.Waiting
		return w != nil && strings.HasPrefix(w.Reason, "ErrImagePull")
	})
	if rt.Pulls() != 1 {
		t.Fatalf("PullAlways pulled %d times, want 1", rt.Pulls())
	}
}

// TestFakeTCPProbe listens on the hollow pod's own (loopback) IP, then stops
// listening: the tcpSocket probe fails and the container restarts.
func TestFakeTCPProbe(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, nil)
	l0, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l0.Addr().(*net.TCPAddr).Port
	l0.Close()
	p := webPod("tcp")
	p.DesiredState.Manifest.Containers[0].Ports = []api.Port{{Name: "web", ContainerPort: port}}
	p.DesiredState.Manifest.Containers[0].LivenessProbe = &api.LivenessProbe{TCPSocket: &api.TCPSocketAction{Port: api.NewIntOrStringFromString("web")}, InitialDelaySeconds: 1}
	e.createPod(p)
	got := e.waitPod("tcp", 5*time.Second, "Running", running)
	l, err := net.Listen("tcp", net.JoinHostPort(got.CurrentState.PodIP, strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listen on the pod IP %s: %v", got.CurrentState.PodIP, err)
	}
	var accepted atomic.Int32 // each probe is one connection
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	// Past the initial delay, three probes in a row succeed (a failed one
	// would stop the prober and restart the container).
	testutil.Eventually(t, 10*time.Second, func() bool { return accepted.Load() >= 3 }, "three tcp probes answered")
	if n := got.CurrentState.Info.Status("web").RestartCount; n != 0 || e.getPod("tcp").CurrentState.Info.Status("web").RestartCount != 0 {
		t.Fatalf("restarted while the port answered")
	}
	l.Close()
	e.waitPod("tcp", 5*time.Second, "restart after the tcp probe fails", func(p *api.Pod) bool {
		return p.CurrentState.Info.Status("web").RestartCount >= 1
	})
}
