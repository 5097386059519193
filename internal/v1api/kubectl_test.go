package v1api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/testutil"
)

// realKubectls returns the oldest and the newest real kubectl on the
// machine (testutil.RealKubectls).
func realKubectls(t *testing.T) []string {
	t.Helper()
	return testutil.RealKubectls(t).OldestNewest()
}

type kubectl struct {
	t    *testing.T
	bin  string
	env  []string
	args []string
}

func newKubectl(t *testing.T, bin string, c *cluster) *kubectl {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(cfg, []byte(`apiVersion: v1
kind: Config
clusters:
- name: kubelite
  cluster: {server: "`+c.srv.URL+`"}
contexts:
- name: kubelite
  context: {cluster: kubelite, user: admin}
current-context: kubelite
users:
- name: admin
  user: {}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return &kubectl{t: t, bin: bin, env: append(os.Environ(), "HOME="+dir, "KUBECONFIG="+cfg), args: []string{"--request-timeout=20s"}}
}

// run runs kubectl and fails the test unless it exits 0 and its output
// contains every want.
func (k *kubectl) run(stdin string, args []string, wants ...string) string {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin, append(append([]string{}, k.args...), args...)...)
	cmd.Env = k.env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	for _, w := range wants {
		if !strings.Contains(string(out), w) {
			k.t.Fatalf("kubectl %s: output lacks %q:\n%s", strings.Join(args, " "), w, out)
		}
	}
	if strings.Contains(string(out), "couldn't get resource list") || strings.Contains(string(out), "Unhandled Error") {
		k.t.Fatalf("kubectl %s: discovery complained:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}

// stream starts kubectl and returns a reader of its stdout; stop kills it.
func (k *kubectl) stream(args ...string) (lines *bufio.Scanner, stop func()) {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, k.bin, append(append([]string{}, k.args...), args...)...)
	cmd.Env = k.env
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		k.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	return bufio.NewScanner(out), func() {
		cancel()
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
	}
}

// waitLine reads lines until one contains want.
func waitLine(t *testing.T, sc *bufio.Scanner, want string) string {
	t.Helper()
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return sc.Text()
		}
	}
	t.Fatalf("stream ended before a line with %q: %v", want, sc.Err())
	return ""
}

const podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, tier: fe}
spec:
  containers:
  - name: web
    image: nginx
    ports: [{containerPort: 80}]
`

const rcYAML = `apiVersion: v1
kind: ReplicationController
metadata:
  name: fe
spec:
  replicas: 2
  selector: {app: fe}
  template:
    metadata:
      labels: {app: fe}
    spec:
      containers:
      - name: web
        image: nginx
`

// TestRealKubectl drives the oldest and the newest real kubectl through
// every command of issue 12 against the API (over the registry, with a
// fake kubelet for logs). go test -v prints the matrix: one subtest per
// version and command.
func TestRealKubectl(t *testing.T) {
	for _, bin := range realKubectls(t) {
		t.Run(filepath.Base(bin), func(t *testing.T) {
			c := newCluster(t)
			k := newKubectl(t, bin, c)
			dir := t.TempDir()
			podFile, rcFile := filepath.Join(dir, "pod.yaml"), filepath.Join(dir, "rc.yaml")
			if err := os.WriteFile(podFile, []byte(podYAML), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(rcFile, []byte(rcYAML), 0o600); err != nil {
				t.Fatal(err)
			}
			step := func(name string, f func(t *testing.T)) {
				if !t.Run(name, func(t *testing.T) { k.t = t; f(t) }) {
					t.FailNow()
				}
			}
			step("version", func(t *testing.T) { k.run("", []string{"version"}, "Server Version") })
			step("api-resources", func(t *testing.T) {
				k.run("", []string{"api-resources"}, "replicationcontrollers", "rc", "ReplicationController", "nodes")
			})
			step("create -f", func(t *testing.T) { k.run("", []string{"create", "-f", podFile}, "pod/web created") })
			c.runPod("default", "web")
			step("get pods -o wide", func(t *testing.T) {
				out := k.run("", []string{"get", "pods", "-o", "wide"}, "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "web", "1/1", "Running", "10.244.0.7", "m1")
				if strings.Contains(out, "LABELS") {
					t.Fatal(out)
				}
			})
			step("get -o json", func(t *testing.T) {
				k.run("", []string{"get", "pod", "web", "-o", "json"}, `"kind": "Pod"`, `"nodeName": "m1"`)
			})
			step("get -o yaml", func(t *testing.T) {
				k.run("", []string{"get", "pod", "web", "-o", "yaml"}, "apiVersion: v1", "phase: Running")
			})
			step("get -o name", func(t *testing.T) { k.run("", []string{"get", "pods", "-o", "name"}, "pod/web") })
			step("get -o jsonpath", func(t *testing.T) {
				k.run("", []string{"get", "pod", "web", "-o", "jsonpath={.status.phase}/{.spec.nodeName}"}, "Running/m1")
			})
			step("get -o custom-columns", func(t *testing.T) {
				k.run("", []string{"get", "pods", "-o", "custom-columns=N:.metadata.name,IMG:.spec.containers[0].image"}, "N", "IMG", "web", "nginx")
			})
			step("get -l set-based", func(t *testing.T) {
				k.run("", []string{"get", "pods", "-l", "tier in (fe,be),app"}, "web")
				if out := k.run("", []string{"get", "pods", "-l", "app=nope"}); strings.Contains(out, "web") {
					t.Fatal(out)
				}
			})
			step("get -A all kinds", func(t *testing.T) {
				k.run("", []string{"get", "pods,rc,svc,ep,events", "-A"}, "NAMESPACE", "default", "pod/web")
			})
			step("get --chunk-size", func(t *testing.T) {
				ctx := context.Background()
				for i := 0; i < 5; i++ {
					if _, err := c.store.Create(ctx, &api.Pod{
						TypeMeta:     api.TypeMeta{ID: fmt.Sprintf("chunk-%d", i), Namespace: "default", Labels: map[string]string{"chunk": "y"}},
						DesiredState: api.PodState{Manifest: api.ContainerManifest{Containers: []api.Container{{Name: "c", Image: "busybox"}}}},
					}); err != nil {
						t.Fatal(err)
					}
				}
				// -v=6 logs each request: three pages of two, the later with continue.
				out := k.run("", []string{"get", "pods", "-l", "chunk", "--chunk-size=2", "-v=6"},
					"limit=2", "continue=", "chunk-0", "chunk-1", "chunk-2", "chunk-3", "chunk-4")
				if n := strings.Count(out, "limit=2"); n != 3 {
					t.Fatalf("%d requests with limit=2, want 3:\n%s", n, out)
				}
				k.run("", []string{"get", "pods", "-l", "chunk", "--chunk-size=2", "-o", "name"},
					"pod/chunk-0", "pod/chunk-1", "pod/chunk-2", "pod/chunk-3", "pod/chunk-4")
				for i := 0; i < 5; i++ {
					if _, err := c.store.Delete(ctx, api.Pods, "default", fmt.Sprintf("chunk-%d", i)); err != nil {
						t.Fatal(err)
					}
				}
			})
			step("get nodes", func(t *testing.T) {
				k.run("", []string{"get", "nodes", "-o", "wide"}, "m1", "Ready", "127.0.0.1", "v0.6.2-kubelite", "10.244.0.0/24")
			})
			step("get namespaces -n", func(t *testing.T) {
				k.run("", []string{"get", "ns"}, "default", "kube-system", "Active")
				k.run("", []string{"get", "pods", "-n", "kube-system"}, "No resources found")
			})
			step("describe", func(t *testing.T) {
				obj, err := c.store.Get(context.Background(), api.Pods, "default", "web")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.store.Create(context.Background(), &api.Event{
					TypeMeta:       api.TypeMeta{Namespace: "default", GenerateName: "web."},
					InvolvedObject: api.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: obj.Meta().UID},
					Reason:         "scheduled", Message: "Successfully assigned web to m1", Source: "scheduler", Timestamp: time.Now(),
				}); err != nil {
					t.Fatal(err)
				}
				k.run("", []string{"describe", "pod", "web"}, "Name:", "web", "Node:", "m1", "Events:", "Successfully assigned web to m1")
			})
			step("apply -f create", func(t *testing.T) { k.run("", []string{"apply", "-f", rcFile}, "replicationcontroller/fe created") })
			step("apply -f change", func(t *testing.T) {
				k.run(strings.Replace(rcYAML, "replicas: 2", "replicas: 3", 1), []string{"apply", "-f", "-"}, "replicationcontroller/fe configured")
				rc, err := c.store.Get(context.Background(), api.ReplicationControllers, "default", "fe")
				if err != nil || rc.(*api.ReplicationController).DesiredState.Replicas != 3 {
					t.Fatalf("rc after apply: %+v %v", rc, err)
				}
			})
			step("apply -f again", func(t *testing.T) {
				k.run(strings.Replace(rcYAML, "replicas: 2", "replicas: 3", 1), []string{"apply", "-f", "-"}, "replicationcontroller/fe unchanged")
			})
			step("scale rc", func(t *testing.T) {
				k.run("", []string{"scale", "rc", "fe", "--replicas=1"}, "replicationcontroller/fe scaled")
				rc, _ := c.store.Get(context.Background(), api.ReplicationControllers, "default", "fe")
				if rc.(*api.ReplicationController).DesiredState.Replicas != 1 {
					t.Fatalf("replicas %d", rc.(*api.ReplicationController).DesiredState.Replicas)
				}
			})
			step("label", func(t *testing.T) { k.run("", []string{"label", "pod", "web", "x=y"}, "pod/web labeled") })
			step("annotate", func(t *testing.T) { k.run("", []string{"annotate", "pod", "web", "a=b"}, "pod/web annotate") })
			step("expose rc", func(t *testing.T) {
				k.run("", []string{"expose", "rc", "fe", "--port=80", "--target-port=8080"}, "service/fe exposed")
				k.run("", []string{"get", "svc", "fe"}, "ClusterIP", "80/TCP")
			})
			step("run", func(t *testing.T) {
				k.run("", []string{"run", "nginx", "--image=nginx", "--labels=run=nginx"}, "pod/nginx created")
			})
			step("logs", func(t *testing.T) {
				k.run("", []string{"logs", "web"}, "line 1 of /containerLogs/default/web/web", "line 3")
			})
			step("logs -f", func(t *testing.T) {
				sc, stop := k.stream("logs", "-f", "web")
				defer stop()
				waitLine(t, sc, "line 3")
				close(c.kubelet.release)
				waitLine(t, sc, "line 4 (followed)")
			})
			step("get -w", func(t *testing.T) {
				if _, err := c.store.Create(context.Background(), &api.Pod{
					TypeMeta:     api.TypeMeta{ID: "watched", Namespace: "default", Labels: map[string]string{"run": "watched"}},
					DesiredState: api.PodState{Manifest: api.ContainerManifest{Containers: []api.Container{{Name: "c", Image: "busybox"}}}},
				}); err != nil {
					t.Fatal(err)
				}
				sc, stop := k.stream("get", "pods", "-w", "-l", "run=watched")
				defer stop()
				waitLine(t, sc, "watched") // from the list
				c.runPod("default", "watched")
				waitLine(t, sc, "Running") // from the watch
			})
			step("explain", func(t *testing.T) { k.run("", []string{"explain", "pod.spec"}, "containers", "nodeSelector") })
			step("cluster-info", func(t *testing.T) { k.run("", []string{"cluster-info"}, "is running at") })
			step("get --raw", func(t *testing.T) {
				k.run("", []string{"get", "--raw", "/api/v1/namespaces/default/pods/web"}, `"kind":"Pod"`)
			})
			step("delete by name", func(t *testing.T) { k.run("", []string{"delete", "pod", "nginx"}, `pod "nginx" deleted`) })
			step("delete -l", func(t *testing.T) {
				k.run("", []string{"delete", "pods", "-l", "run=watched"}, `pod "watched" deleted`)
			})
			step("delete -f", func(t *testing.T) { k.run("", []string{"delete", "-f", podFile}, `pod "web" deleted`) })
			step("delete rc (pods too)", func(t *testing.T) {
				if _, err := c.store.Create(context.Background(), &api.Pod{
					TypeMeta:     api.TypeMeta{ID: "fe-1", Namespace: "default", Labels: map[string]string{"app": "fe"}},
					DesiredState: api.PodState{Manifest: api.ContainerManifest{Containers: []api.Container{{Name: "c", Image: "busybox"}}}},
				}); err != nil {
					t.Fatal(err)
				}
				k.run("", []string{"delete", "rc", "fe"}, `replicationcontroller "fe" deleted`)
				if _, err := c.store.Get(context.Background(), api.Pods, "default", "fe-1"); !api.IsNotFound(err) {
					t.Fatalf("the rc's pod is still there: %v", err)
				}
			})
		})
	}
}
