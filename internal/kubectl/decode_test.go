package kubectl

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"kubelite/internal/api"
)

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, file, data, want string
	}{
		{"typographic quotes", "svc.json", "{\n\"kind\": \"Service\",\n\u201cid\u201d: \"web\"}",
			"svc.json:3:1: typographic quote '\u201c'"},
		{"neither JSON nor YAML", "pod.json", "{\n  \"kind\": \"Pod\",\n  \"id\": [}\n",
			"pod.json:3:10: json syntax error: invalid character '}' looking for beginning of value"},
		{"truncated", "pod.json", "{\"kind\": \"Pod\", \"id\": \"a\"",
			"pod.json:1:25: json syntax error: unexpected end of JSON input"},
		{"wrong type", "pod.json", "{\"kind\": \"Pod\",\n \"id\": \"a\",\n \"desiredState\": {\"manifest\": {\"containers\": [{\"name\": \"a\", \"cpu\": \"lots\"}]}}}",
			"pod.json:3:68: Pod field desiredState.manifest.containers.cpu: want int64, got string"},
		{"wrong type in a container status", "pod.json", "{\"kind\": \"Pod\",\n \"id\": \"a\",\n \"currentState\": {\"info\": {\"web\": {\"restartCount\": \"x\"}}}}",
			"pod.json: Pod field "}, // currentState.info.web.restartCount (web.restartCount with GOEXPERIMENT=jsonv2): no line, PodInfo's decoder cannot know it
		{"unknown field", "pod.json", "{\"kind\": \"Pod\",\n \"id\": \"a\",\n   \"desiredStat\": {}}",
			`pod.json:3:4: Pod has no field "desiredStat"`},
		{"no kind", "x.json", `{"id": "a"}`, "x.json: no kind (want Pod, ReplicationController, Service, ...)"},
		{"unknown kind", "x.json", `{"kind": "Deployment", "id": "a"}`, `x.json: unknown kind "Deployment"`},
		{"bad apiVersion", "x.json", `{"kind": "Pod", "apiVersion": "v1", "id": "a"}`, `x.json: apiVersion "v1" is not supported`},
		{"not an object", "x.json", `[1, 2]`, "x.json: want a JSON object with a kind, got an array"},
		{"yaml syntax", "pod.yaml", "kind: Pod\nid: a\nlabels:\n  name: a\n    bad: b\n",
			"pod.yaml:5: yaml syntax error: mapping values are not allowed in this context"},
		{"yaml second document", "two.yaml", "kind: Pod\nid: a\n---\nkind: Pod\nid: [b\n",
			"two.yaml:5: yaml syntax error:"},
		{"yaml wrong type", "pod.yaml", "kind: Pod\nid: a\ndesiredState:\n  manifest:\n    containers:\n    - name: a\n      memory: much\n",
			"pod.yaml: Pod field desiredState.manifest.containers.memory: want int64, got string"},
		{"empty yaml", "empty.yaml", "# nothing\n", "empty.yaml: no objects"},
		{"list item error", "list.json", `{"kind": "PodList", "items": [{"kind": "Pod", "id": "a"}, {"id": "b"}]}`,
			"list.json: items[1]: no kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeObjects(tc.file, []byte(tc.data))
			if err == nil {
				t.Fatalf("decoded without error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error\n  %q\nwant prefix\n  %q", err, tc.want)
			}
		})
	}
}

func TestDecodeFormats(t *testing.T) {
	tests := []struct {
		name, file, data string
		want             []string // kind/id
	}{
		{"json by sniffing stdin", "-", ` {"kind": "Pod", "id": "a"}`, []string{"Pod/a"}},
		{"yaml by sniffing stdin", "-", "kind: Service\nid: web\nport: 80\n", []string{"Service/web"}},
		{"kind in any case", "rc.json", `{"kind": "Replicationcontroller", "id": "a"}`, []string{"ReplicationController/a"}},
		{"json list", "l.json", `{"kind": "PodList", "items": [{"kind": "Pod", "id": "a"}, {"kind": "Pod", "id": "b"}]}`, []string{"Pod/a", "Pod/b"}},
		{"yaml documents", "d.yml", "# two\nkind: Pod\nid: a\n---\n---\nkind: Minion\nid: m1\n", []string{"Pod/a", "Minion/m1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := decodeObjects(tc.file, []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range objs {
				got = append(got, d.obj.Meta().Kind+"/"+d.obj.Meta().ID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPosition(t *testing.T) {
	data := []byte("ab\ncd\n\nef")
	for _, tc := range []struct {
		off       int64
		line, col int
	}{{0, 1, 1}, {1, 1, 2}, {3, 2, 1}, {4, 2, 2}, {6, 3, 1}, {7, 4, 1}, {9, 4, 3}, {99, 4, 3}, {-1, 1, 1}} {
		if l, c := position(data, tc.off); l != tc.line || c != tc.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tc.off, l, c, tc.line, tc.col)
		}
	}
}

const tutorialDir = "../../testdata/tutorial"

// The tutorial's three files, JSON and YAML, decode to the same objects,
// pass the API's validation after defaults, and say what the blog meant.
func TestTutorialFiles(t *testing.T) {
	srcs, err := readSources(tutorialDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeSources(srcs)
	if err != nil {
		t.Fatal(err)
	}
	ysrcs, err := readSources(filepath.Join(tutorialDir, "yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	yobjs, err := decodeSources(ysrcs)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 || len(yobjs) != 3 {
		t.Fatalf("decoded %d JSON and %d YAML objects, want 3 and 3", len(objs), len(yobjs))
	}
	for i := range objs {
		if !reflect.DeepEqual(objs[i].obj, yobjs[i].obj) {
			t.Errorf("%s and %s decode differently:\n%+v\n%+v", objs[i].source, yobjs[i].source, objs[i].obj, yobjs[i].obj)
		}
		obj := api.Copy(objs[i].obj)
		obj.Meta().Namespace = api.DefaultNamespace
		api.SetDefaults(obj)
		if causes := api.Validate(obj); len(causes) > 0 {
			t.Errorf("%s does not validate: %+v", objs[i].source, causes)
		}
	}
	pod := objs[0].obj.(*api.Pod)
	if pod.ID != "fedoraapache" || pod.Labels["name"] != "fedoraapache" {
		t.Errorf("apache-pod.json: id %q labels %v", pod.ID, pod.Labels)
	}
	if c := pod.DesiredState.Manifest.Containers; len(c) != 1 || c[0].Image != "fedora/apache" ||
		!reflect.DeepEqual(c[0].Ports, []api.Port{{ContainerPort: 80, HostPort: 8080}}) {
		t.Errorf("apache-pod.json containers: %+v", c)
	}
	rc := objs[1].obj.(*api.ReplicationController)
	m := rc.DesiredState.PodTemplate.DesiredState.Manifest
	if rc.ID != "webservercontroller" || rc.DesiredState.Replicas != 2 ||
		!reflect.DeepEqual(rc.DesiredState.ReplicaSelector, map[string]string{"name": "webserver_pod"}) ||
		!reflect.DeepEqual(rc.DesiredState.PodTemplate.Labels, rc.DesiredState.ReplicaSelector) {
		t.Errorf("lnmp-replication.json: %+v", rc)
	}
	if len(m.Volumes) != 3 || m.Volumes[1].Source.HostDir.Path != "/etc/httpd/conf.d" || len(m.Containers) != 1 {
		t.Errorf("lnmp-replication.json manifest: %+v", m)
	} else if c := m.Containers[0]; c.CPU != 100 || c.Memory != 50000000 || len(c.Ports) != 2 || c.Ports[1].ContainerPort != 22 ||
		c.VolumeMounts[1].MountPath != "/etc/httpd/conf.d" || c.Command[2] != "/usr/bin/supervisord -c /etc/supervisord.conf" {
		t.Errorf("lnmp-replication.json container: %+v", c)
	}
	svc := objs[2].obj.(*api.Service)
	if svc.ID != "webserver" || svc.Port != 8080 || svc.ContainerPort != api.NewIntOrStringFromInt(80) || svc.Protocol != "TCP" ||
		!reflect.DeepEqual(svc.Selector, map[string]string{"name": "webserver_pod"}) {
		t.Errorf("lnmp-service.json: %+v", svc)
	}
}

func TestReadSources(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"b.yaml": "kind: Pod\nid: b\n", "a.json": `{"kind":"Pod","id":"a"}`, "notes.txt": "x", "c.yml": "kind: Pod\nid: c\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srcs, err := readSources(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range srcs {
		names = append(names, filepath.Base(s.name))
	}
	if !reflect.DeepEqual(names, []string{"a.json", "b.yaml", "c.yml"}) {
		t.Errorf("read %v", names)
	}
	if _, err := readSources(filepath.Join(dir, "missing.json"), nil); err == nil {
		t.Error("a missing file read without error")
	}
	if _, err := readSources("", nil); err == nil {
		t.Error("no -f read without error")
	}
	empty := t.TempDir()
	if _, err := readSources(empty, nil); err == nil || !strings.Contains(err.Error(), "no .json") {
		t.Errorf("empty dir: %v", err)
	}
}
