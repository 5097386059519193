package admission

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kubelite/internal/api"
)

func TestHostPath(t *testing.T) {
	pol := Policy{Protected: []string{"/srv/kubelite/data", "/var/lib/kl-root/", "relative/ignored", ""}}
	tests := []struct {
		path string
		want string // "" admitted, else a substring of the error
	}{
		// The tutorial's hostDirs, and ordinary data directories.
		{"/etc/httpd/conf", ""},
		{"/etc/httpd/conf.d", ""},
		{"/data", ""},
		{"/data/www", ""},
		{"/srv/www", ""},
		{"/tmp/x", ""},
		{"/home/alice/data", ""},
		{"/var/lib/mysql", ""},
		{"/var/log/app", ""},
		{"/opt/app/static", ""},
		{"/etc/kubernetesx", ""}, // a sibling sharing a prefix, not a child
		{"/procfs", ""},
		{"/srv/kubelite/database", ""},
		// Syntax: raw string, before cleaning.
		{"", "required"},
		{"relative/dir", "absolute"},
		{"data", "absolute"},
		{"./data", "absolute"},
		{"/etc:/x:rshared", "':'"},
		{"/data:rshared", "':'"},
		{"/data:ro", "':'"},
		{"/data/../etc", "'..'"},
		{"/..", "'..'"},
		{"/data/..", "'..'"},
		{"/data/x\x00", "NUL"},
		{"/data/", "not a clean path"},
		{"//data", "not a clean path"},
		{"/data/./www", "not a clean path"},
		{"/data//www", "not a clean path"},
		{"/data/...", ""}, // "..." is a name, not a parent reference
		// The root, and everything above a protected path.
		{"/", "protected"},
		{"/var", "contains the protected"},
		{"/var/lib", "contains the protected"},
		{"/srv", "contains the protected \"/srv/kubelite/data\""},
		{"/srv/kubelite", "contains the protected"},
		// /etc: itself refused, its children allowed unless listed.
		{"/etc", "contains the protected"},
		{"/etc/kubernetes", "is protected"},
		{"/etc/kubernetes/pki", "inside the protected"},
		{"/etc/ssh", "is protected"},
		{"/etc/cron.d", "is protected"},
		{"/etc/shadow", "is protected"},
		{"/etc/sudoers.d/x", "inside the protected"},
		{"/etc/systemd/system", "inside the protected"},
		{"/etc/docker", "is protected"},
		// Fully protected: the path, above and below.
		{"/proc", "is protected"},
		{"/proc/1/root", "inside the protected"},
		{"/sys", "is protected"},
		{"/sys/kernel", "inside the protected"},
		{"/dev", "is protected"},
		{"/dev/sda", "inside the protected"},
		{"/boot", "is protected"},
		{"/boot/grub", "inside the protected"},
		{"/root", "is protected"},
		{"/root/.ssh", "inside the protected"},
		{"/var/lib/docker", "is protected"},
		{"/var/lib/docker/volumes/x", "inside the protected"},
		{"/var/lib/containerd", "is protected"},
		{"/var/lib/kubelet", "is protected"},
		{"/var/lib/kubelet/pods/uid/volumes/x", "inside the protected"},
		{"/var/lib/kubelite", "is protected"},
		{"/run", "is protected"},
		{"/run/containerd", "inside the protected"},
		{"/var/run", "is protected"},
		{"/var/run/docker", "inside the protected"},
		{"/usr", "is protected"},
		{"/usr/bin", "inside the protected"},
		{"/usr/local/bin", "inside the protected"},
		{"/bin", "is protected"},
		{"/lib/modules", "inside the protected"},
		// Sockets, wherever they are.
		{"/var/run/docker.sock", "socket"},
		{"/run/docker.sock", "socket"},
		{"/data/docker.sock", "socket"},
		{"/srv/my-docker.sock", "socket"},
		{"/tmp/containerd.sock", "socket"},
		// The policy's own protected paths (cleaned: the trailing / goes).
		{"/srv/kubelite/data", "is protected"},
		{"/srv/kubelite/data/member/wal", "inside the protected"},
		{"/var/lib/kl-root", "is protected"},
		{"/var/lib/kl-root/pods", "inside the protected"},
		// Roots protected only above: /home, /opt themselves.
		{"/home", "is protected"},
		{"/opt", "is protected"},
	}
	for _, tc := range tests {
		err := pol.HostPath(tc.path)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("HostPath(%q) = %v, want admitted", tc.path, err)
		case tc.want != "" && err == nil:
			t.Errorf("HostPath(%q) admitted, want refused (%s)", tc.path, tc.want)
		case tc.want != "" && !strings.Contains(err.Error(), tc.want):
			t.Errorf("HostPath(%q) = %v, want it to say %q", tc.path, err, tc.want)
		}
	}
}

func TestMountPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/data", true},
		{"/etc/httpd/conf", true},
		{"/", true}, // inside the container: its own business
		{"/usr/share/nginx/html", true},
		{"/x:rshared", false},
		{"/x:ro", false},
		{"relative", false},
		{"", false},
		{"/a/../b", false},
		{"/a\x00", false},
	}
	for _, tc := range tests {
		if err := MountPath(tc.path); (err == nil) != tc.ok {
			t.Errorf("MountPath(%q) = %v, want ok=%v", tc.path, err, tc.ok)
		}
	}
}

func manifest() *api.ContainerManifest {
	return &api.ContainerManifest{
		Version: "v1beta1",
		Volumes: []api.Volume{
			{Name: "conf", Source: &api.VolumeSource{HostDir: &api.HostDir{Path: "/etc/httpd/conf"}}},
			{Name: "scratch"},
			{Name: "tmp", Source: &api.VolumeSource{EmptyDir: &api.EmptyDir{}}},
		},
		Containers: []api.Container{
			{Name: "web", Image: "nginx", VolumeMounts: []api.VolumeMount{{Name: "conf", MountPath: "/etc/nginx", ReadOnly: true}, {Name: "scratch", MountPath: "/scratch"}}},
			{Name: "side", Image: "busybox"},
		},
	}
}

func fields(causes []api.StatusCause) string {
	var out []string
	for _, c := range causes {
		out = append(out, c.Reason+":"+c.Field)
	}
	return strings.Join(out, " ")
}

func TestManifest(t *testing.T) {
	const f = "desiredState.manifest"
	tests := []struct {
		name string
		pol  Policy
		mod  func(m *api.ContainerManifest)
		want string
	}{
		{"good", Policy{}, func(*api.ContainerManifest) {}, ""},
		{"privileged refused by default", Policy{}, func(m *api.ContainerManifest) { m.Containers[1].Privileged = true },
			"FieldValueForbidden:desiredState.manifest.containers[1].privileged"},
		{"privileged allowed", Policy{AllowPrivileged: true}, func(m *api.ContainerManifest) { m.Containers[1].Privileged = true }, ""},
		{"hostDir /", Policy{}, func(m *api.ContainerManifest) { m.Volumes[0].Source.HostDir.Path = "/" },
			"FieldValueForbidden:desiredState.manifest.volumes[0].source.hostDir.path"},
		{"hostDir docker.sock", Policy{AllowPrivileged: true}, func(m *api.ContainerManifest) { m.Volumes[0].Source.HostDir.Path = "/var/run/docker.sock" },
			"FieldValueForbidden:desiredState.manifest.volumes[0].source.hostDir.path"},
		{"hostDir option injection", Policy{}, func(m *api.ContainerManifest) { m.Volumes[0].Source.HostDir.Path = "/etc:/x:rshared" },
			"FieldValueInvalid:desiredState.manifest.volumes[0].source.hostDir.path"},
		{"hostDir protected by the policy", Policy{Protected: []string{"/etc/httpd"}}, func(*api.ContainerManifest) {},
			"FieldValueForbidden:desiredState.manifest.volumes[0].source.hostDir.path"},
		{"mountPath option injection", Policy{}, func(m *api.ContainerManifest) { m.Containers[0].VolumeMounts[1].MountPath = "/x:rshared" },
			"FieldValueInvalid:desiredState.manifest.containers[0].volumeMounts[1].mountPath"},
		{"everything at once", Policy{}, func(m *api.ContainerManifest) {
			m.Volumes[0].Source.HostDir.Path = "/data/../etc"
			m.Volumes = append(m.Volumes, api.Volume{Name: "rel", Source: &api.VolumeSource{HostDir: &api.HostDir{Path: "relative/dir"}}})
			m.Containers[0].Privileged = true
			m.Containers[0].VolumeMounts[0].MountPath = "/a/../b"
		}, "FieldValueInvalid:desiredState.manifest.volumes[0].source.hostDir.path FieldValueInvalid:desiredState.manifest.volumes[3].source.hostDir.path " +
			"FieldValueForbidden:desiredState.manifest.containers[0].privileged FieldValueInvalid:desiredState.manifest.containers[0].volumeMounts[0].mountPath"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := manifest()
			tc.mod(m)
			if got := fields(tc.pol.Manifest(f, m)); got != tc.want {
				t.Errorf("causes %q, want %q", got, tc.want)
			}
		})
	}
}

func TestObjectFieldPaths(t *testing.T) {
	pod := &api.Pod{DesiredState: api.PodState{Manifest: *manifest()}}
	pod.DesiredState.Manifest.Containers[0].Privileged = true
	if got := fields(Policy{}.Object(pod)); got != "FieldValueForbidden:desiredState.manifest.containers[0].privileged" {
		t.Errorf("pod: %q", got)
	}
	rc := &api.ReplicationController{}
	rc.DesiredState.PodTemplate.DesiredState.Manifest = *manifest()
	rc.DesiredState.PodTemplate.DesiredState.Manifest.Volumes[0].Source.HostDir.Path = "/"
	if got := fields(Policy{}.Object(rc)); got != "FieldValueForbidden:desiredState.podTemplate.desiredState.manifest.volumes[0].source.hostDir.path" {
		t.Errorf("rc: %q", got)
	}
	if got := (Policy{}).Object(&api.Service{}); got != nil {
		t.Errorf("service: %+v", got)
	}
}

// The tutorial's files (with the default policy, and with the default
// data and root dirs protected) are admitted.
func TestTutorialFilesAdmitted(t *testing.T) {
	files, err := filepath.Glob("../../testdata/tutorial/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("tutorial files: %v %v", files, err)
	}
	pol := Policy{Protected: []string{"/var/lib/kubelite", "/var/lib/kubelet"}}
	checked := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Kind string }
		if err := json.Unmarshal(b, &head); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var res api.Resource
		switch head.Kind {
		case "Pod":
			res = api.Pods
		case "ReplicationController":
			res = api.ReplicationControllers
		default:
			continue
		}
		obj, err := api.Decode(res, b)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if causes := pol.Object(obj); len(causes) > 0 {
			t.Errorf("%s refused: %+v", file, causes)
		}
		checked++
	}
	if checked < 2 {
		t.Fatalf("checked %d tutorial pod specs, want the pod and the RC", checked)
	}
}
