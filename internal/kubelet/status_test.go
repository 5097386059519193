package kubelet

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
)

func TestPodStatus(t *testing.T) {
	always := api.RestartPolicy{}
	never := api.RestartPolicy{Never: &api.RestartPolicyNever{}}
	p := testPod("u1", always, web)
	pn := testPod("u1", never, web)
	run := func(p *api.Pod, n string, a int) runtime.Container {
		c := ctr(p, n, a, runtime.StateRunning, 0, 0, 0)
		if n == InfraName {
			c.IP = "172.17.0.9"
		}
		return c
	}
	dead := func(p *api.Pod, n string, a, code int) runtime.Container {
		return ctr(p, n, a, runtime.StateExited, code, time.Second, 2*time.Second)
	}
	tests := []struct {
		name    string
		pod     *api.Pod
		cs      []runtime.Container
		waiting map[string]string
		phase   api.PodPhase
		status  api.PodStatus
		web     string // running | waiting:<reason prefix> | terminated:<reason>
		restart int
	}{
		{"nothing yet", p, nil, nil, api.PodPhasePending, api.PodWaiting, "waiting:ContainerCreating", 0},
		{"pull failing", p, []runtime.Container{run(p, InfraName, 0)}, map[string]string{"web": "ErrImagePull: x"}, api.PodPhasePending, api.PodWaiting, "waiting:ErrImagePull", 0},
		{"running", p, []runtime.Container{run(p, InfraName, 0), run(p, "web", 2)}, nil, api.PodPhaseRunning, api.PodRunning, "running", 2},
		{"crash loop stays Running", p, []runtime.Container{run(p, InfraName, 0), dead(p, "web", 3, 1)}, map[string]string{"web": "CrashLoopBackOff: back-off 40s"}, api.PodPhaseRunning, api.PodRunning, "waiting:CrashLoopBackOff", 3},
		{"never + exit 0 = Succeeded", pn, []runtime.Container{dead(pn, InfraName, 0, 0), dead(pn, "web", 0, 0)}, nil, api.PodPhaseSucceeded, api.PodTerminated, "terminated:Completed", 0},
		{"never + exit 1 = Failed", pn, []runtime.Container{run(pn, InfraName, 0), dead(pn, "web", 0, 1)}, nil, api.PodPhaseFailed, api.PodTerminated, "terminated:Error", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := PodStatus(StatusInput{Pod: tt.pod, Containers: tt.cs, Waiting: tt.waiting, Host: "m1", HostIP: "10.0.0.1"})
			if st.Phase != tt.phase || st.Status != tt.status || st.Host != "m1" || st.HostIP != "10.0.0.1" {
				t.Fatalf("phase %s status %s host %s/%s; want %s %s", st.Phase, st.Status, st.Host, st.HostIP, tt.phase, tt.status)
			}
			ws := st.Info.Status("web")
			var got string
			switch s := ws.State; {
			case s.Running != nil:
				got = "running"
			case s.Waiting != nil:
				got = "waiting:" + s.Waiting.Reason
			case s.Termination != nil:
				got = "terminated:" + s.Termination.Reason
			}
			if !strings.HasPrefix(got, tt.web) || ws.RestartCount != tt.restart {
				t.Fatalf("web %q restarts %d; want %q %d", got, ws.RestartCount, tt.web, tt.restart)
			}
			if _, ok := st.Info.Get("net"); !ok {
				t.Fatal("no net entry in info")
			}
		})
	}
}

// A solo pod (no infra): its app holds the network, so the pod's address and
// its "net" entry are the app's, and a restart in progress keeps it Running.
func TestPodStatusSolo(t *testing.T) {
	lone := api.Container{Name: "web", Image: "img", Ports: []api.Port{{ContainerPort: 80}}}
	p := testPod("u1", api.RestartPolicy{}, lone)
	nw := PodNetwork{Name: "kubelite-pods", Subnet: "10.244.1.0/24"}
	soloCtr := func(state runtime.State, attempt int) runtime.Container {
		c := ctr(p, "web", attempt, state, 1, 0, time.Second)
		c.Labels[runtime.LabelSpecHash] = HashSolo(p, &lone, nw)
		c.Labels[LabelOwnNetwork] = "true"
		if state == runtime.StateRunning {
			c.IP = "10.244.1.254"
		}
		return c
	}
	oldInfra := ctr(p, InfraName, 0, runtime.StateExited, 0, 0, time.Second)
	oldInfra.IP = "10.244.1.9"
	tests := []struct {
		name    string
		cs      []runtime.Container
		phase   api.PodPhase
		ip, net string // net: the net entry's state
	}{
		{"starting", nil, api.PodPhasePending, "", "waiting"},
		{"running", []runtime.Container{soloCtr(runtime.StateRunning, 0)}, api.PodPhaseRunning, "10.244.1.254", "running"},
		{"restarting", []runtime.Container{soloCtr(runtime.StateExited, 1), soloCtr(runtime.StateExited, 0)}, api.PodPhaseRunning, "", "terminated"},
		{"after an old infra", []runtime.Container{oldInfra, soloCtr(runtime.StateRunning, 1)}, api.PodPhaseRunning, "10.244.1.254", "running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := PodStatus(StatusInput{Pod: p, Containers: tt.cs, Host: "m1"})
			n := st.Info.Status(InfraStatusName)
			net := "waiting"
			switch {
			case n.State.Running != nil:
				net = "running"
			case n.State.Termination != nil:
				net = "terminated"
			}
			if st.Phase != tt.phase || st.PodIP != tt.ip || net != tt.net || PodIP(p, tt.cs) != tt.ip {
				t.Fatalf("phase %s ip %q (PodIP %q) net %s; want %s %q %s", st.Phase, st.PodIP, PodIP(p, tt.cs), net, tt.phase, tt.ip, tt.net)
			}
			if tt.ip != "" && st.Info.Status("web").PodIP != tt.ip {
				t.Fatalf("web's podIP %q, want %q", st.Info.Status("web").PodIP, tt.ip)
			}
		})
	}
}

func TestAppSpec(t *testing.T) {
	p := testPod("uid-123456789abcdef", api.RestartPolicy{}, api.Container{
		Name: "web", Image: "img", Command: []string{"/bin/sh", "-c", "x"}, WorkingDir: "/w",
		CPU: 100, CPUQuota: true, Memory: 50000000, Env: []api.EnvVar{{Name: "A", Value: "1"}},
		VolumeMounts: []api.VolumeMount{{Name: "conf", MountPath: "/etc/httpd/conf", ReadOnly: true}, {Name: "tmp", MountPath: "/tmp"}},
	})
	p.DesiredState.Manifest.Volumes = []api.Volume{{Name: "conf", Source: &api.VolumeSource{HostDir: &api.HostDir{Path: "/etc/httpd/conf"}}}, {Name: "tmp"}}
	spec, err := AppSpec(p, &p.DesiredState.Manifest.Containers[0], 3, SpecOptions{InfraID: "abc", RootDir: "/var/lib/kubelet"})
	if err != nil {
		t.Fatal(err)
	}
	if spec.NetworkMode != "container:abc" || spec.CPUShares != 102 || spec.CPUQuota != 10000 || spec.CPUPeriod != 100000 || spec.Memory != 50000000 || spec.WorkingDir != "/w" {
		t.Fatalf("spec %+v", spec)
	}
	if spec.Name != "k8s_web_web_default_uid-12345678_3" || spec.Labels[runtime.LabelAttempt] != "3" || spec.Labels[runtime.LabelSpecHash] != HashContainer(&p.DesiredState.Manifest.Containers[0]) {
		t.Fatalf("name %s labels %v", spec.Name, spec.Labels)
	}
	wantMounts := []runtime.Mount{{HostPath: "/etc/httpd/conf", ContainerPath: "/etc/httpd/conf", ReadOnly: true}, {HostPath: "/var/lib/kubelet/pods/uid-123456789abcdef/volumes/tmp", ContainerPath: "/tmp"}}
	if !reflect.DeepEqual(spec.Mounts, wantMounts) {
		t.Fatalf("mounts %+v", spec.Mounts)
	}
	// An admitted, resolved host path is what is bound.
	spec, err = AppSpec(p, &p.DesiredState.Manifest.Containers[0], 3, SpecOptions{InfraID: "abc", RootDir: "/var/lib/kubelet", HostPaths: map[string]string{"conf": "/srv/conf"}})
	if err != nil || spec.Mounts[0].HostPath != "/srv/conf" {
		t.Fatalf("resolved host path: %+v %v", spec.Mounts, err)
	}
	// A ':' in a mount path cannot reach the runtime as an option.
	inj := api.Copy(p)
	inj.DesiredState.Manifest.Containers[0].VolumeMounts[1].MountPath = "/tmp:rshared"
	if _, err := AppSpec(inj, &inj.DesiredState.Manifest.Containers[0], 0, SpecOptions{RootDir: "/var/lib/kubelet"}); err == nil {
		t.Fatal("mount path with ':' accepted")
	}
	bad := *p
	bad.DesiredState.Manifest.Volumes = nil
	if _, err := AppSpec(&bad, &p.DesiredState.Manifest.Containers[0], 0, SpecOptions{}); err == nil {
		t.Fatal("mount of an undeclared volume accepted")
	}
	// Solo: the app holds the pod network, the hostname and the ports.
	lone := testPod("u2", api.RestartPolicy{}, api.Container{Name: "web", Image: "img", Ports: []api.Port{{ContainerPort: 80}}})
	nw := PodNetwork{Name: "kubelite-pods", Subnet: "10.244.1.0/24"}
	if !Solo(lone, nw) || Solo(lone, PodNetwork{}) || Solo(testPod("u3", api.RestartPolicy{}, web), nw) || Solo(testPod("u4", api.RestartPolicy{}, lone.DesiredState.Manifest.Containers[0], web), nw) {
		t.Fatal("Solo: want only a one-container pod without host ports on a pod network")
	}
	spec, err = AppSpec(lone, &lone.DesiredState.Manifest.Containers[0], 1, SpecOptions{Solo: true, Network: nw})
	if err != nil || spec.NetworkMode != "kubelite-pods" || spec.Hostname != "web" || len(spec.Ports) != 1 || spec.Ports[0].ContainerPort != 80 ||
		spec.Labels[LabelOwnNetwork] != "true" || spec.Labels[runtime.LabelSpecHash] != HashSolo(lone, &lone.DesiredState.Manifest.Containers[0], nw) {
		t.Fatalf("solo spec %+v %v", spec, err)
	}
	if HashSolo(lone, &lone.DesiredState.Manifest.Containers[0], nw) == HashSolo(lone, &lone.DesiredState.Manifest.Containers[0], PodNetwork{Name: nw.Name, Subnet: "10.244.2.0/24"}) {
		t.Fatal("HashSolo ignores the network")
	}
	infra := InfraSpec(testPod("u", api.RestartPolicy{}, web), infraImg, 0, PodNetwork{})
	if infra.Hostname != "web" || len(infra.Ports) != 1 || infra.Ports[0].HostPort != 8080 || infra.NetworkMode != "" {
		t.Fatalf("infra %+v", infra)
	}
}
