package kubectl

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/endpoint"
)

func TestCreateTutorialFiles(t *testing.T) {
	c := newFakeClient()
	for _, f := range []string{"apache-pod.json", "lnmp-replication.json", "lnmp-service.json"} {
		out, stderr, err := runCmd(t, c, "", "create", "-f", filepath.Join(tutorialDir, f))
		if err != nil {
			t.Fatalf("create -f %s: %v", f, err)
		}
		if stderr != "" {
			t.Errorf("create -f %s warned: %q", f, stderr)
		}
		want := map[string]string{"apache-pod.json": "fedoraapache\n", "lnmp-replication.json": "webservercontroller\n", "lnmp-service.json": "webserver\n"}[f]
		if out != want {
			t.Errorf("create -f %s printed %q, want %q", f, out, want)
		}
	}
	for res, id := range map[api.Resource]string{api.Pods: "fedoraapache", api.ReplicationControllers: "webservercontroller", api.Services: "webserver"} {
		obj, err := c.Get(context.Background(), res, "default", id)
		if err != nil {
			t.Fatalf("%s %s not stored: %v", res, id, err)
		}
		if obj.Meta().Kind != res.Kind() || obj.Meta().Namespace != "default" {
			t.Errorf("%s %s stored with kind %q namespace %q", res, id, obj.Meta().Kind, obj.Meta().Namespace)
		}
	}
	// Again: the server says they exist; the message names them; non-zero exit.
	_, _, err := runCmd(t, c, "", "create", "-f", tutorialDir)
	if err == nil {
		t.Fatal("creating the files twice succeeded")
	}
	for _, want := range []string{`create Pod "fedoraapache": Pod "fedoraapache" already exists`,
		`create ReplicationController "webservercontroller": ReplicationController "webservercontroller" already exists`,
		`create Service "webserver": Service "webserver" already exists`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestCreateFromYAMLDirAndStdin(t *testing.T) {
	c := newFakeClient()
	if out := mustRun(t, c, "create", "-f", filepath.Join(tutorialDir, "yaml")); out != "fedoraapache\nwebservercontroller\nwebserver\n" {
		t.Errorf("create -f yaml/ printed %q", out)
	}
	// get -o json | delete | create -f - round-trips.
	js := mustRun(t, c, "get", "pod", "fedoraapache", "-o", "json")
	mustRun(t, c, "delete", "pods", "fedoraapache")
	out, _, err := runCmd(t, c, js, "create", "-f", "-")
	if err != nil || out != "fedoraapache\n" {
		t.Fatalf("create -f - of get -o json: %q %v", out, err)
	}
	// And YAML on stdin, in another namespace.
	out, _, err = runCmd(t, c, "kind: Pod\nid: other\nlabels: {name: other}\n", "create", "-f", "-", "--namespace", "test")
	if err != nil || out != "other\n" {
		t.Fatalf("create yaml from stdin: %q %v", out, err)
	}
	if _, err := c.Get(context.Background(), api.Pods, "test", "other"); err != nil {
		t.Errorf("pod not created in namespace test: %v", err)
	}
}

func TestCreateRejections(t *testing.T) {
	c := newFakeClient()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	// (A trailing comma is the blog's and is accepted: a missing value is not.)
	if err := os.WriteFile(bad, []byte("{\n  \"kind\": \"Pod\",\n  \"id\": ,\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t, c, "", "create", "-f", bad)
	if err == nil || !strings.Contains(err.Error(), bad+":3:9: json syntax error") {
		t.Errorf("syntax error: %v", err)
	}
	_, _, err = runCmd(t, c, "", "create")
	if err == nil || !strings.Contains(err.Error(), "no file given") {
		t.Errorf("create without -f: %v", err)
	}
	// A store error comes back with the server's message.
	rej := &rejectingClient{fakeClient: c, err: api.NewInvalid("Pod", "a", []api.StatusCause{{Reason: api.CauseRequired, Field: "desiredState.manifest.containers[0].image", Message: "required"}})}
	_, _, err = runCmd(t, rej, `{"kind": "Pod", "id": "a"}`, "create", "-f", "-")
	if err == nil || err.Error() != `create Pod "a": Pod "a" is invalid: desiredState.manifest.containers[0].image: required` {
		t.Errorf("rejected create: %v", err)
	}
}

// rejectingClient fails every Create with err.
type rejectingClient struct {
	*fakeClient
	err error
}

func (r *rejectingClient) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	return nil, r.err
}

func TestCreateHostPortRCWarns(t *testing.T) {
	c := newFakeClient()
	mustCreate(t, c,
		&api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}, Status: api.MinionStatus{Condition: api.MinionReady}},
		&api.Minion{TypeMeta: api.TypeMeta{ID: "m2"}, Status: api.MinionStatus{Condition: api.MinionReady}},
		&api.Minion{TypeMeta: api.TypeMeta{ID: "m3"}, Status: api.MinionStatus{Condition: api.MinionNotReady}})
	rc := `{"kind": "ReplicationController", "id": "apache", "desiredState": {"replicas": 3, "replicaSelector": {"name": "apache"},
	  "podTemplate": {"labels": {"name": "apache"}, "desiredState": {"manifest": {"containers": [{"name": "a", "image": "fedora/apache", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}}}}}`
	out, stderr, err := runCmd(t, c, rc, "create", "-f", "-")
	if err != nil || out != "apache\n" {
		t.Fatalf("create: %q %v", out, err)
	}
	want := `warning: replication controller "apache": its pod template sets hostPort 8080, so only one replica can run per minion; with 3 replicas and 2 ready minions, 1 stay Pending` + "\n"
	if stderr != want {
		t.Errorf("stderr %q\nwant   %q", stderr, want)
	}
}

func TestUpdate(t *testing.T) {
	c := newFakeClient()
	mustRun(t, c, "create", "-f", tutorialDir)
	svc, _ := c.Get(context.Background(), api.Services, "default", "webserver")
	svc.(*api.Service).PortalIP = "10.254.0.9"
	if _, err := c.Update(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	upd := `{"kind": "Service", "id": "webserver", "selector": {"name": "webserver_pod"}, "port": 9090, "containerPort": 80}`
	if out, _, err := runCmd(t, c, upd, "update", "-f", "-"); err != nil || out != "webserver\n" {
		t.Fatalf("update: %q %v", out, err)
	}
	got, _ := c.Get(context.Background(), api.Services, "default", "webserver")
	if s := got.(*api.Service); s.Port != 9090 || s.PortalIP != "10.254.0.9" {
		t.Errorf("after update: port %d portalIP %q, want 9090 and the kept 10.254.0.9", s.Port, s.PortalIP)
	}
	// A stale resourceVersion is the server's conflict.
	stale := `{"kind": "Service", "id": "webserver", "resourceVersion": 1, "selector": {"name": "x"}, "port": 1}`
	if _, _, err := runCmd(t, c, stale, "update", "-f", "-"); err == nil || !strings.Contains(err.Error(), "cannot be updated") {
		t.Errorf("stale update: %v", err)
	}
	if _, _, err := runCmd(t, c, `{"kind": "Pod", "id": "nosuch"}`, "update", "-f", "-"); err == nil || !strings.Contains(err.Error(), `Pod "nosuch" not found`) {
		t.Errorf("update of a missing pod: %v", err)
	}
}

func TestDeleteRCCascades(t *testing.T) {
	c := newFakeClient()
	web := map[string]string{"name": "web"}
	mustCreate(t, c, rcObj("web", 2, 2, web, "img"),
		pod("web-1", "img", "", "", "", web), pod("web-2", "img", "", "", "", web),
		pod("other", "img", "", "", "", map[string]string{"name": "other"}))
	if out := mustRun(t, c, "delete", "rc", "web"); out != "web\n" {
		t.Errorf("delete printed %q", out)
	}
	if got := podImagesNow(t, c); !reflect.DeepEqual(got, []string{"other=img/"}) {
		t.Errorf("pods after delete rc: %v", got)
	}
	mustCreate(t, c, rcObj("web", 2, 2, web, "img"), pod("web-1", "img", "", "", "", web))
	mustRun(t, c, "delete", "replicationControllers", "web", "--cascade=false")
	if got := podImagesNow(t, c); !reflect.DeepEqual(got, []string{"other=img/", "web-1=img/"}) {
		t.Errorf("pods after delete --cascade=false: %v", got)
	}
	if _, err := c.Get(context.Background(), api.ReplicationControllers, "default", "web"); !api.IsNotFound(err) {
		t.Errorf("rc still there: %v", err)
	}
}

func TestDeleteForms(t *testing.T) {
	c := newFakeClient()
	mustRun(t, c, "create", "-f", tutorialDir)
	if out := mustRun(t, c, "delete", "-f", filepath.Join(tutorialDir, "lnmp-service.json")); out != "webserver\n" {
		t.Errorf("delete -f printed %q", out)
	}
	mustCreate(t, c, pod("a", "i", "", "", "", map[string]string{"app": "x"}), pod("b", "i", "", "", "", map[string]string{"app": "x"}))
	if out := mustRun(t, c, "delete", "pods", "-l", "app=x"); out != "a\nb\n" {
		t.Errorf("delete -l printed %q", out)
	}
	_, _, err := runCmd(t, c, "", "delete", "pods", "fedoraapache", "nosuch")
	if err == nil || !strings.Contains(err.Error(), `delete Pod "nosuch": Pod "nosuch" not found`) {
		t.Errorf("delete of a missing pod: %v", err)
	}
	if _, err := c.Get(context.Background(), api.Pods, "default", "fedoraapache"); !api.IsNotFound(err) {
		t.Errorf("fedoraapache not deleted: %v", err)
	}
	for _, args := range [][]string{{"delete"}, {"delete", "pods"}, {"delete", "pods", "a", "-l", "x=y"}} {
		if _, _, err := runCmd(t, c, "", args...); err == nil {
			t.Errorf("kubectl %v succeeded", args)
		}
	}
}

func TestVersion(t *testing.T) {
	c := newFakeClient()
	out := mustRun(t, c, "version")
	want := `Client Version: version.Info{Major:"0", Minor:"6+", GitVersion:"v0.6.2-kubelite", GitCommit:"abc", GitTreeState:"clean"}
Server Version: &version.Info{Major:"0", Minor:"6+", GitVersion:"v0.6.2", GitCommit:"729fde276613eedcd99ecf5b93f095b8deb64eb4", GitTreeState:"clean"}
`
	if out != want {
		t.Errorf("version:\n%s\nwant:\n%s", out, want)
	}
	if out := mustRun(t, c, "version", "--client"); strings.Contains(out, "Server") {
		t.Errorf("version --client: %q", out)
	}
}

func TestResizeScale(t *testing.T) {
	c := newFakeClient()
	mustCreate(t, c, rcObj("web", 2, 0, map[string]string{"name": "web"}, "img"))
	replicas := func() int {
		o, err := c.Get(context.Background(), api.ReplicationControllers, "default", "web")
		if err != nil {
			t.Fatal(err)
		}
		return o.(*api.ReplicationController).DesiredState.Replicas
	}
	if out := mustRun(t, c, "resize", "web", "6"); out != "web resized to 6\n" || replicas() != 6 {
		t.Errorf("resize: %q, replicas %d", out, replicas())
	}
	mustRun(t, c, "scale", "--replicas=3", "web")
	if replicas() != 3 {
		t.Errorf("scale --replicas=3: replicas %d", replicas())
	}
	mustRun(t, c, "scale", "rc", "web", "--replicas", "1")
	mustRun(t, c, "resize", "rc", "web", "0")
	if replicas() != 0 {
		t.Errorf("resize rc web 0: replicas %d", replicas())
	}
	for _, args := range [][]string{{"resize", "web", "-1"}, {"resize", "web", "x"}, {"resize", "nosuch", "2"}, {"scale", "web"}, {"resize", "pods", "web", "2"}} {
		if _, _, err := runCmd(t, c, "", args...); err == nil {
			t.Errorf("kubectl %v succeeded", args)
		}
	}
}

func TestRun(t *testing.T) {
	c := newFakeClient()
	out := mustRun(t, c, "run", "fedora/apache", "2", "apache", "-p", "8080:80", "-s", "80")
	if out != "apache\napache\n" {
		t.Errorf("run printed %q", out)
	}
	o, err := c.Get(context.Background(), api.ReplicationControllers, "default", "apache")
	if err != nil {
		t.Fatal(err)
	}
	rc := o.(*api.ReplicationController)
	name := map[string]string{"name": "apache"}
	ct := rc.DesiredState.PodTemplate.DesiredState.Manifest.Containers
	if rc.DesiredState.Replicas != 2 || !reflect.DeepEqual(rc.DesiredState.ReplicaSelector, name) || !reflect.DeepEqual(rc.DesiredState.PodTemplate.Labels, name) ||
		len(ct) != 1 || ct[0].Image != "fedora/apache" || !reflect.DeepEqual(ct[0].Ports, []api.Port{{HostPort: 8080, ContainerPort: 80}}) {
		t.Errorf("run made %+v", rc)
	}
	o, err = c.Get(context.Background(), api.Services, "default", "apache")
	if err != nil {
		t.Fatal(err)
	}
	if s := o.(*api.Service); s.Port != 80 || s.ContainerPort.IntVal != 80 || !reflect.DeepEqual(s.Selector, name) {
		t.Errorf("run made service %+v", s)
	}
	// Without -s no service; --server still sets the server.
	mustRun(t, c, "run", "img", "1", "solo", "--server", "http://elsewhere:8080")
	if _, err := c.Get(context.Background(), api.Services, "default", "solo"); !api.IsNotFound(err) {
		t.Errorf("run without -s made a service: %v", err)
	}
	for _, args := range [][]string{{"run", "img", "x", "n"}, {"run", "img", "1"}, {"run", "img", "1", "n", "-p", "0:80"}, {"run", "img", "1", "n", "-p", "a:b"}} {
		if _, _, err := runCmd(t, c, "", args...); err == nil {
			t.Errorf("kubectl %v succeeded", args)
		}
	}
}

func TestStop(t *testing.T) {
	c := newFakeClient()
	startFakeCluster(t, c)
	mustRun(t, c, "run", "img", "3", "web")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitPods(ctx, c, "default", api.SelectorFromSet(map[string]string{"name": "web"}), func(p map[string]*api.Pod) (bool, error) {
		return len(p) == 3, nil
	}); err != nil {
		t.Fatalf("the fake cluster did not make 3 pods: %v", err)
	}
	out, _, err := runCmdCtx(ctx, c, "", "stop", "web")
	if err != nil || out != "web\n" {
		t.Fatalf("stop: %q %v", out, err)
	}
	if got := podImagesNow(t, c); len(got) != 0 {
		t.Errorf("pods left: %v", got)
	}
	if _, err := c.Get(ctx, api.ReplicationControllers, "default", "web"); !api.IsNotFound(err) {
		t.Errorf("rc left: %v", err)
	}
}

func TestStopTimesOutWithoutAController(t *testing.T) {
	c := newFakeClient()
	web := map[string]string{"name": "web"}
	mustCreate(t, c, rcObj("web", 1, 1, web, "img"), pod("web-1", "img", "m1", "", api.PodPhaseRunning, web))
	_, _, err := runCmd(t, c, "", "stop", "web", "--timeout", "50ms")
	if err == nil || !strings.Contains(err.Error(), "still running after 50ms") {
		t.Errorf("stop: %v", err)
	}
	if _, err := c.Get(context.Background(), api.ReplicationControllers, "default", "web"); err != nil {
		t.Errorf("rc deleted although its pods still run: %v", err)
	}
}

func TestRollingUpdate(t *testing.T) {
	c := newFakeClient()
	fc := startFakeCluster(t, c)
	mustRun(t, c, "run", "web:v1", "3", "web")
	waitN(t, c, "web", 3)
	before := podImagesNow(t, c)
	out, _, err := runCmd(t, c, "", "rollingupdate", "web", "--image", "web:v2", "--update-period", "0s")
	if err != nil {
		t.Fatalf("rollingupdate: %v\n%s", err, out)
	}
	got := podImagesNow(t, c)
	for _, p := range got {
		if !strings.Contains(p, "=web:v2/Running") {
			t.Errorf("after rollingupdate: %v (before %v)", got, before)
			break
		}
	}
	if len(got) != 3 {
		t.Errorf("after rollingupdate %d pods, want 3: %v", len(got), got)
	}
	// A step may also delete a pod the controller made from the old
	// template before it saw the new one ("deleted ..., made from the old template").
	want := `^Updating web: pod template now web:v2; 3 pods to replace\n` +
		`(Updating web: deleted web-\d+, made from the old template\n)*` +
		`Updating web: replacing web-00001 \(1/3\)\n(Updating web: deleted web-\d+, made from the old template\n)*Updating web: web-\d+ is Running \(1/3\)\n` +
		`Updating web: replacing web-00002 \(2/3\)\n(Updating web: deleted web-\d+, made from the old template\n)*Updating web: web-\d+ is Running \(2/3\)\n` +
		`Updating web: replacing web-00003 \(3/3\)\n(Updating web: deleted web-\d+, made from the old template\n)*Updating web: web-\d+ is Running \(3/3\)\n` +
		`Update of web succeeded: 3 pods replaced\n$`
	if !regexp.MustCompile(want).MatchString(out) {
		t.Errorf("progress:\n%s\nwant to match:\n%s", out, want)
	}
	_ = fc
	// With -f: the file's template, the same selector.
	f := filepath.Join(t.TempDir(), "v3.json")
	v3 := `{"kind": "ReplicationController", "id": "web-v3", "desiredState": {"replicaSelector": {"name": "web"},
	  "podTemplate": {"labels": {"name": "web", "version": "v3"}, "desiredState": {"manifest": {"containers": [{"name": "web", "image": "web:v3"}]}}}}}`
	if err := os.WriteFile(f, []byte(v3), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCmd(t, c, "", "rollingupdate", "web", "-f", f, "--update-period=0"); err != nil {
		t.Fatalf("rollingupdate -f: %v\n%s", err, out)
	}
	for _, p := range podImagesNow(t, c) {
		if !strings.Contains(p, "=web:v3/Running") {
			t.Errorf("after rollingupdate -f: %v", podImagesNow(t, c))
			break
		}
	}
}

func waitN(t *testing.T, c Client, name string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitPods(ctx, c, "default", api.SelectorFromSet(map[string]string{"name": name}), func(p map[string]*api.Pod) (bool, error) {
		running := 0
		for _, x := range p {
			if x.CurrentState.Phase == api.PodPhaseRunning {
				running++
			}
		}
		return running == n && len(p) == n, nil
	}); err != nil {
		t.Fatalf("waiting for %d running %s pods: %v (pods %v)", n, name, err, podImagesNow(t, c))
	}
}

func TestRollingUpdateFailureKeepsOldPods(t *testing.T) {
	for _, tc := range []struct {
		image, why string
		args       []string
	}{
		{"web:broken", `new pod web-\d+ failed: Failed: container exited with code 127`, nil},
		{"web:slow", `new pod web-\d+ was not Running within 200ms \(Pending, container web: Waiting \(image web:slow not present\)\)`, []string{"--timeout", "200ms"}},
	} {
		t.Run(tc.image, func(t *testing.T) {
			c := newFakeClient()
			startFakeCluster(t, c)
			mustRun(t, c, "run", "web:v1", "3", "web")
			waitN(t, c, "web", 3)
			args := append([]string{"rollingupdate", "web", "--image", tc.image, "--update-period", "0s"}, tc.args...)
			out, _, err := runCmd(t, c, "", args...)
			if err == nil {
				t.Fatalf("rollingupdate to %s succeeded:\n%s", tc.image, out)
			}
			// How many broken pods the controller made meanwhile varies.
			want := "^rollingupdate web: " + tc.why + `; deleted \d+ new pod\(s\) not Running \(web-\d+(, web-\d+)*\); ` +
				`restored the previous pod template \(web:v1\), so the controller replaces them with old pods; 2 pods of the old template were not touched and still serve$`
			if !regexp.MustCompile(want).MatchString(err.Error()) {
				t.Errorf("error:\n%s\nwant to match:\n%s", err, want)
			}
			// The RC is back on v1 and the cluster returns to 3 Running v1 pods.
			o, _ := c.Get(context.Background(), api.ReplicationControllers, "default", "web")
			if img := images(o.(*api.ReplicationController).DesiredState.PodTemplate.DesiredState.Manifest.Containers); img != "web:v1" {
				t.Errorf("template image %s after the failure", img)
			}
			waitN(t, c, "web", 3)
			for _, p := range podImagesNow(t, c) {
				if !strings.Contains(p, "=web:v1/Running") {
					t.Errorf("pods after the failed update: %v", podImagesNow(t, c))
					break
				}
			}
		})
	}
}

func TestRollingUpdateArgs(t *testing.T) {
	c := newFakeClient()
	mustCreate(t, c, rcObj("web", 1, 1, map[string]string{"name": "web"}, "img"))
	two := rcObj("two", 1, 1, map[string]string{"name": "two"}, "img")
	two.DesiredState.PodTemplate.DesiredState.Manifest.Containers = append(two.DesiredState.PodTemplate.DesiredState.Manifest.Containers, api.Container{Name: "side", Image: "s"})
	mustCreate(t, c, two)
	other := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(other, []byte(`{"kind": "ReplicationController", "id": "x", "desiredState": {"replicaSelector": {"name": "x"}, "podTemplate": {"labels": {"name": "x"}}}}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"rollingupdate", "web"}, "exactly one of -f"},
		{[]string{"rollingupdate", "web", "--image", "a", "-f", other}, "exactly one of -f"},
		{[]string{"rollingupdate", "nosuch", "--image", "a"}, `not found`},
		{[]string{"rollingupdate", "two", "--image", "a"}, "has 2 containers (web, side): name one with -c"},
		{[]string{"rollingupdate", "two", "--image", "a", "-c", "nope"}, `no container "nope"`},
		{[]string{"rollingupdate", "web", "-f", other}, "replicaSelector name=x differs from web's name=web"},
	} {
		if _, _, err := runCmd(t, c, "", tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("kubectl %v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestLog(t *testing.T) {
	c := tutorialCluster(t)
	c.logs["192.168.1.202/default/fedoraapache/web"] = "GET / 200\n"
	if out := mustRun(t, c, "log", "fedoraapache"); out != "GET / 200\n" {
		t.Errorf("log printed %q", out)
	}
	mustRun(t, c, "log", "-f", "fedoraapache", "web")
	if !reflect.DeepEqual(c.asked, []string{"192.168.1.202/default/fedoraapache/web follow=false", "192.168.1.202/default/fedoraapache/web follow=true"}) {
		t.Errorf("asked %v", c.asked)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"log", "hostport-x1y2z"}, "pod hostport-x1y2z is not on a minion yet (Pending (0/2 minions fit: 2 hostPort 8080 in use))"},
		{[]string{"log", "fedoraapache", "db"}, `pod fedoraapache has no container "db" (it has web)`},
		{[]string{"log", "nosuch"}, `Pod "nosuch" not found`},
		{[]string{"log"}, "want POD"},
	} {
		if _, _, err := runCmd(t, c, "", tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("kubectl %v: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	b   strings.Builder
	got chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	select {
	case s.got <- struct{}{}:
	default:
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestGetWatch(t *testing.T) {
	c := newFakeClient()
	mustCreate(t, c, pod("a", "img", "", "", "", map[string]string{"app": "x"}))
	out := &syncBuffer{got: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	r := &Runner{Stdin: strings.NewReader(""), Stdout: out, Stderr: io.Discard, Connect: func(endpoint.Endpoint) (Client, error) { return c, nil }}
	go func() { done <- r.Run(ctx, []string{"get", "pods", "-w", "-l", "app=x"}) }()
	waitFor := func(sub string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for !strings.Contains(out.String(), sub) {
			select {
			case <-out.got:
			case <-deadline:
				t.Fatalf("watch output never contained %q:\n%s", sub, out.String())
			}
		}
	}
	waitFor("a ")
	mustCreate(t, c, pod("b", "img", "", "", "", map[string]string{"app": "x"}), pod("c", "img", "", "", "", map[string]string{"app": "y"}))
	p, _ := c.Get(ctx, api.Pods, "default", "a")
	p.(*api.Pod).CurrentState.Phase = api.PodPhaseRunning
	p.(*api.Pod).CurrentState.Host = "m1"
	if _, err := c.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	waitFor("m1/")
	if _, err := c.Delete(ctx, api.Pods, "default", "b"); err != nil {
		t.Fatal(err)
	}
	waitFor("DELETED")
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("watch: %v", err)
	}
	// The event type comes first; the streamed rows line up with the list's.
	golden(t, "get_watch", out.String())
}
