package registry_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kubelite/internal/admission"
	"kubelite/internal/api"
	"kubelite/internal/registry"
	"kubelite/internal/store/memory"
)

// hostile is one pod spec of issue 17 item 2 and the field its 422 must name.
type hostile struct {
	name  string
	mod   func(m *api.ContainerManifest)
	field string // relative to the manifest
}

func hostileSpecs() []hostile {
	hostDir := func(path string) func(m *api.ContainerManifest) {
		return func(m *api.ContainerManifest) {
			m.Volumes = []api.Volume{{Name: "host", Source: &api.VolumeSource{HostDir: &api.HostDir{Path: path}}}}
			m.Containers[0].VolumeMounts = []api.VolumeMount{{Name: "host", MountPath: "/host"}}
		}
	}
	const vol = "volumes[0].source.hostDir.path"
	return []hostile{
		{"hostDir /", hostDir("/"), vol},
		{"hostDir docker.sock", hostDir("/var/run/docker.sock"), vol},
		{"hostDir /etc", hostDir("/etc"), vol},
		{"hostDir bind option injection", hostDir("/etc:/x:rshared"), vol},
		{"hostDir dot-dot", hostDir("/data/../etc"), vol},
		{"hostDir relative", hostDir("relative/dir"), vol},
		{"hostDir /proc", hostDir("/proc"), vol},
		{"mountPath bind option injection", func(m *api.ContainerManifest) {
			hostDir("/data")(m)
			m.Containers[0].VolumeMounts[0].MountPath = "/x:rshared"
		}, "containers[0].volumeMounts[0].mountPath"},
		{"privileged", func(m *api.ContainerManifest) { m.Containers[0].Privileged = true }, "containers[0].privileged"},
	}
}

func rcOf(id string, p *api.Pod) *api.ReplicationController {
	return &api.ReplicationController{TypeMeta: api.TypeMeta{ID: id},
		DesiredState: api.ReplicationControllerState{Replicas: 1, ReplicaSelector: map[string]string{"name": "web"},
			PodTemplate: api.PodTemplate{Labels: map[string]string{"name": "web"}, DesiredState: p.DesiredState}}}
}

// TestHostileCreateRefused: each attack was stored (201) before admission;
// now a pod and an RC template carrying it get 422 naming the field.
func TestHostileCreateRefused(t *testing.T) {
	r := start(t, memory.New(), registry.Config{})
	for _, h := range hostileSpecs() {
		t.Run(h.name, func(t *testing.T) {
			p := pod("evil")
			h.mod(&p.DesiredState.Manifest)
			_, err := r.Create(ctx(t), p)
			if code(err) != http.StatusUnprocessableEntity || !strings.Contains(causes(err), "desiredState.manifest."+h.field) {
				t.Fatalf("pod: %v (causes %q), want 422 naming %s", err, causes(err), h.field)
			}
			_, err = r.Create(ctx(t), rcOf("evil", p))
			if code(err) != http.StatusUnprocessableEntity || !strings.Contains(causes(err), "desiredState.podTemplate.desiredState.manifest."+h.field) {
				t.Fatalf("rc: %v (causes %q), want 422 naming the template's %s", err, causes(err), h.field)
			}
		})
	}
}

// TestHostileUpdateRefused: a good pod and RC cannot be turned hostile by
// an update, while updates that leave the spec alone go through.
func TestHostileUpdateRefused(t *testing.T) {
	r := start(t, memory.New(), registry.Config{})
	c := ctx(t)
	o, err := r.Create(c, pod("good"))
	if err != nil {
		t.Fatal(err)
	}
	good := o.(*api.Pod)
	o, err = r.Create(c, rcOf("good", pod("x")))
	if err != nil {
		t.Fatal(err)
	}
	goodRC := o.(*api.ReplicationController)
	for _, h := range hostileSpecs() {
		t.Run(h.name, func(t *testing.T) {
			p := api.Copy(good)
			h.mod(&p.DesiredState.Manifest)
			_, err := r.Update(ctx(t), p)
			if code(err) != http.StatusUnprocessableEntity || !strings.Contains(causes(err), "desiredState.manifest."+h.field) {
				t.Fatalf("pod update: %v, want 422 naming %s", err, h.field)
			}
			rc := api.Copy(goodRC)
			h.mod(&rc.DesiredState.PodTemplate.DesiredState.Manifest)
			_, err = r.Update(ctx(t), rc)
			if code(err) != http.StatusUnprocessableEntity || !strings.Contains(causes(err), "desiredState.podTemplate.desiredState.manifest."+h.field) {
				t.Fatalf("rc update: %v, want 422 naming the template's %s", err, h.field)
			}
		})
	}
	st := api.Copy(good)
	st.CurrentState.Status = api.PodRunning
	if _, err := r.Update(c, st); err != nil {
		t.Fatalf("status update of an admitted pod: %v", err)
	}
}

// TestAdmissionPolicyFromConfig: AllowPrivileged and Protected reach the checks.
func TestAdmissionPolicyFromConfig(t *testing.T) {
	r := start(t, memory.New(), registry.Config{Admission: admission.Policy{AllowPrivileged: true, Protected: []string{"/srv/kubelite"}}})
	c := ctx(t)
	p := pod("priv")
	p.DesiredState.Manifest.Containers[0].Privileged = true
	if _, err := r.Create(c, p); err != nil {
		t.Fatalf("privileged with AllowPrivileged: %v", err)
	}
	p = pod("data")
	p.DesiredState.Manifest.Volumes = []api.Volume{{Name: "d", Source: &api.VolumeSource{HostDir: &api.HostDir{Path: "/srv/kubelite/member"}}}}
	_, err := r.Create(c, p)
	if !strings.Contains(causes(err), "desiredState.manifest.volumes[0].source.hostDir.path") {
		t.Fatalf("hostDir inside a Protected dir: %v", err)
	}
}

// TestValidationAndAdmissionNameAFieldOnce: a relative hostDir is one cause.
func TestValidationAndAdmissionNameAFieldOnce(t *testing.T) {
	r := start(t, memory.New(), registry.Config{})
	p := pod("rel")
	p.DesiredState.Manifest.Volumes = []api.Volume{{Name: "d", Source: &api.VolumeSource{HostDir: &api.HostDir{Path: "relative/dir"}}}}
	_, err := r.Create(ctx(t), p)
	if got := causes(err); got != "desiredState.manifest.volumes[0].source.hostDir.path" {
		t.Fatalf("causes %q (%v)", got, err)
	}
}

// TestTutorialFilesAdmittedByRegistry: the tutorial's pod and RC are created.
func TestTutorialFilesAdmittedByRegistry(t *testing.T) {
	r := start(t, memory.New(), registry.Config{Admission: admission.Policy{Protected: []string{"/var/lib/kubelite", "/var/lib/kubelet"}}})
	for file, res := range map[string]api.Resource{"apache-pod.json": api.Pods, "lnmp-replication.json": api.ReplicationControllers} {
		b, err := os.ReadFile(filepath.Join("../../testdata/tutorial", file))
		if err != nil {
			t.Fatal(err)
		}
		obj, err := api.Decode(res, b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Create(ctx(t), obj); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}
