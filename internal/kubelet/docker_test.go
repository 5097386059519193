package kubelet

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/images"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/docker"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

var podSeq atomic.Int64

// dockerEnv starts a kubelet on the real engine. Pods it runs are named
// with prefix; everything with that prefix is removed at cleanup.
func dockerEnv(t *testing.T, st *memory.Store, mod func(*Config)) (*env, *docker.Runtime, string) {
	t.Helper()
	testutil.RequireDocker(t)
	rt, err := docker.New(testutil.DockerHost())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	bin := testutil.ImageBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := images.Build(ctx, rt, bin, images.WebserverV1); err != nil {
		t.Fatal(err)
	}
	prefix := fmt.Sprintf("kt%d-%d", time.Now().UnixNano()%1e6, podSeq.Add(1))
	t.Cleanup(func() { removePrefix(t, rt, prefix) })
	root := t.TempDir()
	e := startKubelet(t, st, rt, func(c *Config) {
		c.RootDir = root
		c.InfraBinary = bin
		c.ProbePeriod = 500 * time.Millisecond
		if mod != nil {
			mod(c)
		}
	})
	e.root = root
	return e, rt, prefix
}

// removePrefix removes every managed container of pods named prefix*.
func removePrefix(t *testing.T, rt runtime.Runtime, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // 100 pods on a loaded engine
	defer cancel()
	cs, err := rt.List(ctx, runtime.ListOptions{})
	if err != nil {
		t.Errorf("cleanup list: %v", err)
		return
	}
	for _, c := range cs {
		if strings.HasPrefix(c.Labels[runtime.LabelPodName], prefix) {
			if err := rt.Remove(ctx, c.ID); err != nil && !strings.Contains(err.Error(), "not found") && !strings.Contains(err.Error(), "already in progress") {
				t.Errorf("cleanup remove %s: %v", c.Name, err)
			}
		}
	}
}

func freeTCPPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// httpGet GETs url until it answers 200 or the deadline passes.
func httpGet(t *testing.T, url string, timeout time.Duration) string {
	t.Helper()
	var body string
	testutil.Eventually(t, timeout, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d: %s", resp.StatusCode, b)
		}
		body = string(b)
		return nil
	}, "GET %s", url)
	return body
}

func dockerWebPod(id string, hostPort int) *api.Pod {
	return &api.Pod{TypeMeta: api.TypeMeta{ID: id}, DesiredState: api.PodState{Manifest: api.ContainerManifest{
		Containers: []api.Container{{Name: "web", Image: images.WebserverV1,
			Ports: []api.Port{{ContainerPort: 80, HostPort: hostPort, HostIP: "127.0.0.1"}}}},
	}}}
}

func TestDockerPodHostPortAndCrashRestart(t *testing.T) {
	e, rt, prefix := dockerEnv(t, memory.New(), nil)
	port := freeTCPPort(t)
	id := prefix + "-web"
	e.createPod(dockerWebPod(id, port))
	p := e.waitPod(id, 30*time.Second, "Running", running)
	body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/info.php", port), 10*time.Second)
	if !strings.Contains(body, "pod: "+id+"\n") {
		t.Fatalf("hostPort answer %q does not name the pod", body)
	}
	if p.CurrentState.PodIP == "" || p.CurrentState.Info.Status("web").Image != images.WebserverV1 {
		t.Fatalf("state: %s", dump(p.CurrentState))
	}
	// docker kill: restarted with restartCount 1 within 2 s.
	cid := strings.TrimPrefix(p.CurrentState.Info.Status("web").ContainerID, "docker://")
	killed := time.Now()
	if err := rt.Kill(e.ctx, cid, "KILL"); err != nil {
		t.Fatal(err)
	}
	e.waitPod(id, 2*time.Second, "restartCount 1 within 2 s", func(p *api.Pod) bool {
		return p.CurrentState.Info.Status("web").RestartCount == 1 && p.CurrentState.Info.Status("web").State.Running != nil
	})
	t.Logf("killed container restarted and reported in %s", time.Since(killed))
	httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 5*time.Second)
}

func TestDockerTwoContainersShareLocalhost(t *testing.T) {
	e, rt, prefix := dockerEnv(t, memory.New(), nil)
	id := prefix + "-two"
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: id}, DesiredState: api.PodState{Manifest: api.ContainerManifest{
		Containers: []api.Container{
			{Name: "a", Image: images.WebserverV1},
			{Name: "b", Image: images.WebserverV1, Env: []api.EnvVar{{Name: "WEB_PORT", Value: "81"}}},
		}}}}
	e.createPod(p)
	got := e.waitPod(id, 30*time.Second, "Running", running)
	b := strings.TrimPrefix(got.CurrentState.Info.Status("b").ContainerID, "docker://")
	// From b, a's server on localhost:80 answers.
	testutil.Eventually(t, 10*time.Second, func() error {
		res, err := rt.Exec(e.ctx, b, []string{"/webserver", "healthcheck", "80"})
		if err != nil {
			return err
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("exit %d: %s", res.ExitCode, res.Output)
		}
		return nil
	}, "b reaches a on localhost:80")
}

func TestDockerVolumes(t *testing.T) {
	e, _, prefix := dockerEnv(t, memory.New(), nil)
	port := freeTCPPort(t)
	hostDir := filepath.Join(t.TempDir(), "data") // missing: Docker creates it
	id := prefix + "-vol"
	p := dockerWebPod(id, port)
	p.DesiredState.Manifest.Volumes = []api.Volume{
		{Name: "data", Source: &api.VolumeSource{HostDir: &api.HostDir{Path: hostDir}}},
		{Name: "ro", Source: &api.VolumeSource{HostDir: &api.HostDir{Path: hostDir}}},
		{Name: "scratch", Source: &api.VolumeSource{EmptyDir: &api.EmptyDir{}}},
	}
	p.DesiredState.Manifest.Containers[0].VolumeMounts = []api.VolumeMount{
		{Name: "data", MountPath: "/data"}, {Name: "ro", MountPath: "/ro", ReadOnly: true}, {Name: "scratch", MountPath: "/scratch"},
	}
	created := e.createPod(p)
	e.waitPod(id, 30*time.Second, "Running", running)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	httpGet(t, base+"/healthz", 10*time.Second)
	post := func(path, body string) int {
		resp, err := http.Post(base+"/file?path="+path, "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("/data/from-pod", "hello host"); c != 200 {
		t.Fatalf("write to hostDir: %d", c)
	}
	if b, err := os.ReadFile(filepath.Join(hostDir, "from-pod")); err != nil || string(b) != "hello host" {
		t.Fatalf("hostDir file on the host: %q %v", b, err)
	}
	if c := post("/ro/x", "no"); c != http.StatusForbidden {
		t.Fatalf("write to a readOnly mount: %d, want 403", c)
	}
	if c := post("/scratch/f", "scratch data"); c != 200 {
		t.Fatalf("write to emptyDir: %d", c)
	}
	ed := EmptyDirPath(e.root, created.UID, "scratch")
	if b, err := os.ReadFile(filepath.Join(ed, "f")); err != nil || string(b) != "scratch data" {
		t.Fatalf("emptyDir file on the host: %q %v", b, err)
	}
	// Deleting the pod removes its containers and its directory.
	if _, err := e.st.Delete(e.ctx, api.Pods, "default", id); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		cs, _ := e.rt.List(e.ctx, runtime.ListOptions{PodUID: created.UID})
		_, statErr := os.Stat(PodDir(e.root, created.UID))
		if len(cs) != 0 || !os.IsNotExist(statErr) {
			return fmt.Errorf("%d containers, pod dir: %v", len(cs), statErr)
		}
		return nil
	}, "pod's containers and directory gone after delete")
	if _, err := os.Stat(filepath.Join(hostDir, "from-pod")); err != nil {
		t.Fatalf("hostDir content must outlive the pod: %v", err)
	}
}

func TestDockerLivenessProbeRestarts(t *testing.T) {
	e, _, prefix := dockerEnv(t, memory.New(), nil)
	port := freeTCPPort(t)
	id := prefix + "-live"
	p := dockerWebPod(id, port)
	p.DesiredState.Manifest.Containers[0].LivenessProbe = &api.LivenessProbe{
		HTTPGet: &api.HTTPGetAction{Path: "/healthz", Port: api.NewIntOrStringFromInt(80)}, TimeoutSeconds: 1,
	}
	e.createPod(p)
	e.waitPod(id, 30*time.Second, "Running", running)
	httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/fail-health", port), 10*time.Second)
	e.waitPod(id, 15*time.Second, "restart after the failing probe", func(p *api.Pod) bool {
		return p.CurrentState.Info.Status("web").RestartCount >= 1 && p.CurrentState.Info.Status("web").State.Running != nil
	})
	// The new container is healthy again.
	httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/healthz", port), 10*time.Second)
}

func TestDockerExecProbeRestarts(t *testing.T) {
	e, _, prefix := dockerEnv(t, memory.New(), nil)
	port := freeTCPPort(t)
	id := prefix + "-exec"
	p := dockerWebPod(id, port)
	p.DesiredState.Manifest.Containers[0].LivenessProbe = &api.LivenessProbe{
		Exec: &api.ExecAction{Command: []string{"/webserver", "healthcheck"}}, InitialDelaySeconds: 1,
	}
	e.createPod(p)
	e.waitPod(id, 30*time.Second, "Running", running)
	httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/fail-health", port), 10*time.Second)
	e.waitPod(id, 15*time.Second, "restart after the failing exec probe", func(p *api.Pod) bool {
		return p.CurrentState.Info.Status("web").RestartCount >= 1
	})
}

func TestDockerMissingImage(t *testing.T) {
	e, _, prefix := dockerEnv(t, memory.New(), nil)
	id := prefix + "-noimg"
	p := dockerWebPod(id, 0)
	p.DesiredState.Manifest.Containers[0].Image = "kubelite-absent/nothing:v0"
	p.DesiredState.Manifest.Containers[0].Ports = nil
	e.createPod(p)
	got := e.waitPod(id, 30*time.Second, "ErrImagePull", func(p *api.Pod) bool {
		w := p.CurrentState.Info.Status("web").State.Waiting
		return w != nil && strings.HasPrefix(w.Reason, "ErrImagePull: ")
	})
	if got.CurrentState.Phase != api.PodPhasePending {
		t.Fatalf("phase %s, want Pending", got.CurrentState.Phase)
	}
	t.Logf("waiting reason: %s", got.CurrentState.Info.Status("web").State.Waiting.Reason)
	// The kubelet still serves other pods.
	port := freeTCPPort(t)
	e.createPod(dockerWebPod(prefix+"-ok", port))
	e.waitPod(prefix+"-ok", 30*time.Second, "Running", running)
}

func TestDockerKubeletRestartAdopts(t *testing.T) {
	st := memory.New()
	e, rt, prefix := dockerEnv(t, st, nil)
	port := freeTCPPort(t)
	id := prefix + "-adopt"
	e.createPod(dockerWebPod(id, port))
	before := e.waitPod(id, 30*time.Second, "Running", running)
	e.stopK()
	e2 := startKubelet(t, st, rt, func(c *Config) { c.NodeName = e.node; c.RootDir = e.root; c.InfraBinary = testutil.ImageBinary(t) })
	if err := e2.k.SyncPod(e2.ctx, "default/"+id); err != nil {
		t.Fatal(err)
	}
	after := e2.getPod(id)
	for _, n := range []string{"web", "net"} {
		b, a := before.CurrentState.Info.Status(n), after.CurrentState.Info.Status(n)
		if b.ContainerID != a.ContainerID || a.RestartCount != 0 || a.State.Running == nil {
			t.Fatalf("%s changed across a kubelet restart: before %s after %s", n, dump(b), dump(a))
		}
	}
	httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port), 5*time.Second)
}

// TestDockerTutorialImages runs the tutorial's two pods as its files write
// them: fedora/apache on containerPort 80, and yorko/webserver with the lnmp
// controller's command, cpu and memory.
func TestDockerTutorialImages(t *testing.T) {
	e, rt, prefix := dockerEnv(t, memory.New(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := images.Build(ctx, rt, testutil.ImageBinary(t), "fedora/apache", "yorko/webserver"); err != nil {
		t.Fatal(err)
	}
	apachePort, lnmpPort := freeTCPPort(t), freeTCPPort(t)
	apache := &api.Pod{TypeMeta: api.TypeMeta{ID: prefix + "-fedoraapache"}, DesiredState: api.PodState{Manifest: api.ContainerManifest{
		Version: "v1beta1", ID: "fedoraapache",
		Containers: []api.Container{{Name: "fedoraapache", Image: "fedora/apache",
			Ports: []api.Port{{ContainerPort: 80, HostPort: apachePort, HostIP: "127.0.0.1"}}}},
	}}}
	lnmp := &api.Pod{TypeMeta: api.TypeMeta{ID: prefix + "-webserver"}, DesiredState: api.PodState{Manifest: api.ContainerManifest{
		Version: "v1beta1", ID: "webserver",
		Containers: []api.Container{{Name: "webserver", Image: "yorko/webserver",
			Command: []string{"/bin/sh", "-c", "/usr/bin/supervisord -c /etc/supervisord.conf"},
			CPU:     100, Memory: 50000000,
			Ports: []api.Port{{ContainerPort: 80, HostPort: lnmpPort, HostIP: "127.0.0.1"}, {ContainerPort: 22}}}},
	}}}
	e.createPod(apache)
	e.createPod(lnmp)
	e.waitPod(apache.ID, 30*time.Second, "Running", running)
	e.waitPod(lnmp.ID, 30*time.Second, "Running", running)
	if b := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", apachePort), 10*time.Second); !strings.Contains(b, "pod: "+apache.ID) {
		t.Fatalf("apache answered %q", b)
	}
	if b := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/info.php", lnmpPort), 10*time.Second); !strings.Contains(b, "pod: "+lnmp.ID) || !strings.Contains(b, "version: yorko-webserver") {
		t.Fatalf("lnmp answered %q", b)
	}
}

// TestDockerEvents: a real pod start records Created and Started in the
// store through the shared recorder; a container that exits at once
// crash-loops into a BackOff event.
func TestDockerEvents(t *testing.T) {
	st := memory.New()
	e, _, prefix := dockerEnv(t, st, nil)
	id := prefix + "-ev"
	e.createPod(dockerWebPod(id, 0))
	e.waitPod(id, 30*time.Second, "Running", running)
	crash := prefix + "-crash"
	p := dockerWebPod(crash, 0)
	p.DesiredState.Manifest.Containers[0].Command = []string{"/webserver", "--no-such-flag"}
	e.createPod(p)

	reasons := func(pod string) map[string]string {
		objs, _, err := st.List(e.ctx, api.Events, store.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, o := range objs {
			if ev := o.(*api.Event); ev.InvolvedObject.Name == pod {
				out[ev.Reason] = ev.Source + ": " + ev.InvolvedObject.FieldPath + ": " + ev.Message
			}
		}
		return out
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		got := reasons(id)
		if !strings.Contains(got[EventCreated], "containers{web}: Created container web") || !strings.Contains(got[EventStarted], "Started container web") {
			return fmt.Errorf("events of %s: %q", id, got)
		}
		if !strings.HasPrefix(got[EventStarted], "kubelet "+e.node+": ") {
			return fmt.Errorf("Started event source: %q", got[EventStarted])
		}
		return nil
	}, "Created and Started events of a Docker pod")
	testutil.Eventually(t, 60*time.Second, func() error {
		if got := reasons(crash); !strings.Contains(got[EventBackOff], "restarting failed container web") {
			return fmt.Errorf("events of %s: %q", crash, got)
		}
		return nil
	}, "BackOff event of a crash-looping Docker pod")
}
