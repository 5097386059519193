package kubelet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kubelite/internal/admission"
	"kubelite/internal/api"
	"kubelite/internal/runtime"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

func TestDecideRefused(t *testing.T) {
	p := testPod("u1", api.RestartPolicy{}, web, api.Container{Name: "side", Image: "kubelite/webserver:v1"})
	tests := []struct {
		name string
		cs   []runtime.Container
		want string
	}{
		{"nothing runs: nothing starts", nil, ""},
		{"running: apps stop before the infra, nothing restarts", []runtime.Container{
			ctr(p, InfraName, 0, runtime.StateRunning, 0, 0, 0),
			ctr(p, "web", 0, runtime.StateRunning, 0, 0, 0),
			ctr(p, "side", 1, runtime.StateRunning, 0, 0, 0),
			ctr(p, "side", 0, runtime.StateExited, 1, 0, time.Second),
		}, "stop side side-u1-1,stop web web-u1-0,stop POD POD-u1-0"},
		{"dead: stays dead", []runtime.Container{
			ctr(p, InfraName, 0, runtime.StateExited, 0, 0, time.Second),
			ctr(p, "web", 0, runtime.StateExited, 1, 0, time.Second),
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := Decide(Input{Pod: p, Containers: tc.cs, Now: t0.Add(time.Hour), InfraImage: infraImg, KeepDead: 2, Refused: "no"})
			if got := strings.Join(acts(plan), ","); got != tc.want {
				t.Errorf("actions %q, want %q", got, tc.want)
			}
			for _, n := range []string{InfraName, "web", "side"} {
				if plan.Waiting[n] != "PodRefused: no" {
					t.Errorf("waiting[%s] = %q", n, plan.Waiting[n])
				}
			}
			if plan.RequeueAfter != 0 {
				t.Errorf("requeue %v", plan.RequeueAfter)
			}
		})
	}
}

// hostilePod is a pod of issue 17 item 2: hostDir path mounted at mountPath.
func hostilePod(id, hostDir, mountPath string) *api.Pod {
	p := webPod(id)
	p.DesiredState.Manifest.Volumes = []api.Volume{{Name: "host", Source: &api.VolumeSource{HostDir: &api.HostDir{Path: hostDir}}}}
	p.DesiredState.Manifest.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "host", MountPath: mountPath}}
	return p
}

func TestAdmit(t *testing.T) {
	links := map[string]string{"/data/link": "/", "/data/sock": "/var/run/docker.sock", "/data/conf": "/srv/conf", "/srv/root": "/var/lib/kubelet/pods"}
	resolve := func(p string) (string, error) {
		if p == "/data/broken" {
			return "", errors.New("permission denied")
		}
		if r, ok := links[p]; ok {
			return r, nil
		}
		return p, nil
	}
	pol := admission.Policy{Protected: []string{"/var/lib/kubelet"}}
	tests := []struct {
		name     string
		pod      *api.Pod
		refused  string // substring; "" admitted
		hostPath string // admitted: the path bound for volume "host"
	}{
		{"tutorial conf", hostilePod("p", "/etc/httpd/conf", "/etc/httpd/conf"), "", "/etc/httpd/conf"},
		{"tutorial data", hostilePod("p", "/data", "/data"), "", "/data"},
		{"symlink to an allowed dir is bound resolved", hostilePod("p", "/data/conf", "/conf"), "", "/srv/conf"},
		{"hostDir /", hostilePod("p", "/", "/host"), "volumes[0].source.hostDir.path", ""},
		{"docker.sock", hostilePod("p", "/var/run/docker.sock", "/var/run/docker.sock"), "volumes[0].source.hostDir.path", ""},
		{"/etc", hostilePod("p", "/etc", "/host"), "volumes[0].source.hostDir.path", ""},
		{"bind option injection", hostilePod("p", "/etc:/x:rshared", "/host"), "':'", ""},
		{"mountPath option injection", hostilePod("p", "/data", "/x:rshared"), "volumeMounts[0].mountPath", ""},
		{"dot-dot", hostilePod("p", "/data/../etc", "/host"), "'..'", ""},
		{"relative", hostilePod("p", "relative/dir", "/host"), "absolute", ""},
		{"symlink to /", hostilePod("p", "/data/link", "/host"), "resolves to hostDir \"/\"", ""},
		{"symlink to docker.sock", hostilePod("p", "/data/sock", "/host"), "socket", ""},
		{"symlink into the root dir", hostilePod("p", "/srv/root", "/host"), "inside the protected \"/var/lib/kubelet\"", ""},
		{"unresolvable", hostilePod("p", "/data/broken", "/host"), "permission denied", ""},
		{"privileged", func() *api.Pod {
			p := webPod("p")
			p.DesiredState.Manifest.Containers[0].Privileged = true
			return p
		}(), "containers[0].privileged: privileged containers are refused: this cluster runs without --allow_privileged", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			paths, refused := Admit(pol, tc.pod, resolve)
			switch {
			case tc.refused == "" && refused != "":
				t.Fatalf("refused: %s", refused)
			case tc.refused != "" && !strings.Contains(refused, tc.refused):
				t.Fatalf("refused %q, want it to say %q", refused, tc.refused)
			case tc.refused == "" && paths["host"] != tc.hostPath:
				t.Fatalf("host path %q, want %q", paths["host"], tc.hostPath)
			}
		})
	}
}

func TestResolveHostPath(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"link": real, "root": "/", "dangling": filepath.Join(dir, "nowhere")} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ in, want string }{
		{filepath.Join(dir, "real"), real},
		{filepath.Join(dir, "link"), real},
		{filepath.Join(dir, "link", "missing", "sub"), filepath.Join(real, "missing", "sub")},
		{filepath.Join(dir, "missing"), filepath.Join(dir, "missing")},
		{filepath.Join(dir, "root"), "/"},
		{filepath.Join(dir, "root", "etc"), "/etc"},
		{filepath.Join(dir, "dangling"), "error"},
		{filepath.Join(dir, "dangling", "x"), "error"},
	}
	for _, tc := range tests {
		got, err := ResolveHostPath(tc.in)
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("ResolveHostPath(%s) = %q (%v), want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestFakeHostilePodsRefused: pods the master should have refused (or that
// an older master stored) reach the kubelet directly through the store; each
// used to get its containers (hostDir "/" mounted read-write, options
// injected into the bind); now none is created, the status says why and an
// event is recorded.
func TestFakeHostilePodsRefused(t *testing.T) {
	rt := fakeRT()
	e := startKubelet(t, memory.New(), rt, nil)
	dir := t.TempDir()
	if err := os.Symlink("/", filepath.Join(dir, "to-root")); err != nil {
		t.Fatal(err)
	}
	privileged := webPod("privileged")
	privileged.DesiredState.Manifest.Containers[0].Privileged = true
	pods := []*api.Pod{
		hostilePod("root", "/", "/host"),
		hostilePod("docker-sock", "/var/run/docker.sock", "/var/run/docker.sock"),
		hostilePod("etc", "/etc", "/host"),
		hostilePod("inject-host", "/etc:/x:rshared", "/host"),
		hostilePod("inject-mount", "/data", "/x:rshared"),
		hostilePod("dotdot", "/data/../etc", "/host"),
		hostilePod("relative", "relative/dir", "/host"),
		hostilePod("symlink", filepath.Join(dir, "to-root"), "/host"),
		hostilePod("kubelet-root", e.root, "/host"),
		privileged,
	}
	for _, p := range pods {
		created := e.createPod(p)
		got := e.waitPod(p.ID, 5*time.Second, "refused", func(p *api.Pod) bool {
			w := p.CurrentState.Info.Status("web").State.Waiting
			return w != nil && strings.HasPrefix(w.Reason, "PodRefused: ")
		})
		if n := got.CurrentState.Info.Status(InfraStatusName).State.Waiting; n == nil || !strings.HasPrefix(n.Reason, "PodRefused: ") {
			t.Errorf("%s: infra status %+v", p.ID, got.CurrentState.Info.Status(InfraStatusName))
		}
		if got.CurrentState.Phase != api.PodPhasePending {
			t.Errorf("%s: phase %q", p.ID, got.CurrentState.Phase)
		}
		cs, err := rt.List(e.ctx, runtime.ListOptions{PodUID: created.UID})
		if err != nil || len(cs) != 0 {
			t.Fatalf("%s: containers %+v %v", p.ID, cs, err)
		}
	}
	evs, _, err := e.st.List(e.ctx, api.Events, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]int{}
	for _, o := range evs {
		if ev := o.(*api.Event); ev.Reason == EventRefused {
			refused[ev.InvolvedObject.Name]++
		}
	}
	for _, p := range pods {
		if refused[p.ID] != 1 {
			t.Errorf("%s: %d refused events, want 1", p.ID, refused[p.ID])
		}
	}
}

// TestFakeRefusedPodStopsAndRecovers: a running pod that this minion's
// policy refuses (the minion restarted stricter) is stopped; the same pod
// starts under a policy that admits it.
func TestFakeRefusedPodStopsAndRecovers(t *testing.T) {
	rt := fakeRT()
	st := memory.New()
	e := startKubelet(t, st, rt, func(c *Config) { c.AllowPrivileged = true })
	p := webPod("priv")
	p.DesiredState.Manifest.Containers[0].Privileged = true
	created := e.createPod(p)
	e.waitPod("priv", 5*time.Second, "Running", running)
	node := e.node
	e.stopK()
	e2 := startKubelet(t, st, rt, func(c *Config) { c.NodeName = node })
	e2.waitPod("priv", 5*time.Second, "refused", func(p *api.Pod) bool {
		w := p.CurrentState.Info.Status("web").State.Waiting
		return w != nil && strings.Contains(w.Reason, "allow_privileged")
	})
	cs, err := rt.List(e2.ctx, runtime.ListOptions{PodUID: created.UID, Running: true})
	if err != nil || len(cs) != 0 {
		t.Fatalf("refused pod still runs: %+v %v", cs, err)
	}
	e2.stopK()
	e3 := startKubelet(t, st, rt, func(c *Config) { c.NodeName = node; c.AllowPrivileged = true })
	e3.waitPod("priv", 5*time.Second, "Running again", running)
}
