package kubectl

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/endpoint"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<name>.golden (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s: output differs from the golden file\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

// fakeClient is a Client over a memory store, with canned /version and logs.
type fakeClient struct {
	*memory.Store
	version api.ServerVersion
	mu      sync.Mutex
	logs    map[string]string // host/ns/pod/container -> log
	asked   []string
}

func newFakeClient() *fakeClient {
	return &fakeClient{
		Store:   memory.New(),
		version: api.ServerVersion{Major: "0", Minor: "6+", GitVersion: "v0.6.2", GitCommit: "729fde276613eedcd99ecf5b93f095b8deb64eb4", GitTreeState: "clean"},
		logs:    map[string]string{},
	}
}

func (f *fakeClient) ServerVersion(ctx context.Context) (api.ServerVersion, error) {
	return f.version, nil
}

func (f *fakeClient) ContainerLogs(ctx context.Context, host, ns, pod, container string, follow bool, w io.Writer) error {
	key := host + "/" + ns + "/" + pod + "/" + container
	f.mu.Lock()
	f.asked = append(f.asked, fmt.Sprintf("%s follow=%v", key, follow))
	text, ok := f.logs[key]
	f.mu.Unlock()
	if !ok {
		return api.NewNotFound("container", container)
	}
	_, err := io.WriteString(w, text)
	return err
}

// runCmd runs one command line against c and returns stdout, stderr and the error.
func runCmd(t *testing.T, c Client, stdin string, args ...string) (string, string, error) {
	t.Helper()
	return runCmdCtx(context.Background(), c, stdin, args...)
}

func runCmdCtx(ctx context.Context, c Client, stdin string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	r := &Runner{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv:        func(string) string { return "" },
		Connect:       func(endpoint.Endpoint) (Client, error) { return c, nil },
		Clock:         clock.Real{},
		ClientVersion: api.ServerVersion{Major: "0", Minor: "6+", GitVersion: "v0.6.2-kubelite", GitCommit: "abc", GitTreeState: "clean"},
	}
	err := r.Run(ctx, args)
	return out.String(), errb.String(), err
}

func mustRun(t *testing.T, c Client, args ...string) string {
	t.Helper()
	out, stderr, err := runCmd(t, c, "", args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v (stderr %q)", strings.Join(args, " "), err, stderr)
	}
	return out
}

func mustCreate(t *testing.T, s store.Store, objs ...api.Object) {
	t.Helper()
	for _, o := range objs {
		if _, err := s.Create(context.Background(), o); err != nil {
			t.Fatalf("create %s: %v", o.Meta().ID, err)
		}
	}
}

var t0 = time.Date(2014, 12, 19, 23, 59, 39, 0, time.UTC)

func pod(id, image, host, hostIP string, phase api.PodPhase, labels map[string]string) *api.Pod {
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: "default", Labels: labels, CreationTimestamp: t0}}
	p.DesiredState.Manifest = api.ContainerManifest{Version: "v1beta1", ID: id, Containers: []api.Container{{Name: "web", Image: image}}}
	p.DesiredState.Host = host
	p.CurrentState.Host = host
	p.CurrentState.HostIP = hostIP
	p.CurrentState.Phase = phase
	return p
}

func rcObj(id string, replicas, current int, sel map[string]string, image string) *api.ReplicationController {
	rc := &api.ReplicationController{TypeMeta: api.TypeMeta{ID: id, Namespace: "default", Labels: map[string]string{"name": "webserver"}}}
	rc.DesiredState.Replicas = replicas
	rc.DesiredState.ReplicaSelector = sel
	rc.DesiredState.PodTemplate.Labels = sel
	rc.DesiredState.PodTemplate.DesiredState.Manifest = api.ContainerManifest{Version: "v1beta1", Containers: []api.Container{{Name: "web", Image: image}}}
	rc.CurrentState.Replicas = current
	return rc
}

// tutorialCluster fills a store with the tutorial's cluster after its steps.
func tutorialCluster(t *testing.T) *fakeClient {
	c := newFakeClient()
	web := map[string]string{"name": "webserver_pod"}
	apache := pod("fedoraapache", "fedora/apache", "192.168.1.202", "", api.PodPhaseRunning, map[string]string{"name": "fedoraapache"})
	apache.DesiredState.Manifest.Containers[0].Ports = []api.Port{{ContainerPort: 80, HostPort: 8080}}
	apache.CurrentState.PodIP = "172.17.0.4"
	apache.CurrentState.Info = api.PodInfo{{Name: "web", ContainerStatus: api.ContainerStatus{State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: t0.Add(3 * time.Second)}}, RestartCount: 1}}}
	mustCreate(t, c,
		apache,
		pod("webservercontroller-a1b2c", "yorko/webserver", "192.168.1.202", "192.168.1.202", api.PodPhaseRunning, web),
		pod("webservercontroller-d3e4f", "yorko/webserver", "192.168.1.201", "192.168.1.201", api.PodPhaseRunning, web),
		pod("webservercontroller-g5h6i", "yorko/webserver", "", "", "", web),
	)
	pending := pod("hostport-x1y2z", "fedora/apache", "", "", api.PodPhasePending, map[string]string{"name": "hostport", "tier": "front"})
	pending.CurrentState.Reason = "failedScheduling"
	pending.CurrentState.Message = "0/2 minions fit: 2 hostPort 8080 in use"
	mustCreate(t, c, pending)
	mustCreate(t, c, rcObj("webservercontroller", 3, 3, web, "yorko/webserver"))
	rc2 := rcObj("hostport", 3, 2, map[string]string{"name": "hostport"}, "fedora/apache")
	rc2.DesiredState.PodTemplate.DesiredState.Manifest.Containers[0].Ports = []api.Port{{ContainerPort: 80, HostPort: 8080}}
	mustCreate(t, c, rc2)
	svc := &api.Service{TypeMeta: api.TypeMeta{ID: "webserver", Namespace: "default"}, Port: 8080, Protocol: "TCP",
		Selector: web, ContainerPort: api.NewIntOrStringFromInt(80), PortalIP: "10.254.216.51"}
	svc2 := &api.Service{TypeMeta: api.TypeMeta{ID: "kubernetes-ro", Namespace: "default", Labels: map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Port: 80, Selector: map[string]string{"component": "apiserver"}, PortalIP: "10.254.28.74"}
	mustCreate(t, c, svc, svc2,
		&api.Endpoints{TypeMeta: api.TypeMeta{ID: "webserver", Namespace: "default"}, Endpoints: []string{"172.17.0.2:80", "172.17.0.3:80"}},
		&api.Endpoints{TypeMeta: api.TypeMeta{ID: "kubernetes-ro", Namespace: "default"}},
	)
	mustCreate(t, c,
		&api.Minion{TypeMeta: api.TypeMeta{ID: "192.168.1.201"}, HostIP: "192.168.1.201", Status: api.MinionStatus{Condition: api.MinionReady, LastHeartbeat: t0}},
		&api.Minion{TypeMeta: api.TypeMeta{ID: "192.168.1.202", Labels: map[string]string{"zone": "b", "disk": "ssd"}}, HostIP: "192.168.1.202",
			Resources: api.NodeResources{Capacity: api.Capacity{CPU: 2000, Memory: 4 << 30}},
			Status:    api.MinionStatus{Condition: api.MinionReady, LastHeartbeat: t0}, Unschedulable: true},
		&api.Minion{TypeMeta: api.TypeMeta{ID: "192.168.1.203"}, Status: api.MinionStatus{Condition: api.MinionNotReady, Reason: "no heartbeat for 40s", LastHeartbeat: t0.Add(-time.Minute)}},
		&api.Minion{TypeMeta: api.TypeMeta{ID: "192.168.1.204"}},
	)
	ev := func(id, kind, name, reason, source, msg string, at time.Duration) *api.Event {
		return &api.Event{TypeMeta: api.TypeMeta{ID: id, Namespace: "default"},
			InvolvedObject: api.ObjectReference{Kind: kind, Name: name, Namespace: "default"},
			Reason:         reason, Source: source, Message: msg, Timestamp: t0.Add(at)}
	}
	// The kubelet's events name the container (record.FieldRecorder).
	kev := func(id, reason, msg string, at time.Duration) *api.Event {
		e := ev(id, "Pod", "fedoraapache", reason, "kubelet 192.168.1.202", msg, at)
		e.InvolvedObject.FieldPath = "desiredState.manifest.containers{web}"
		return e
	}
	old := ev("e0", "Pod", "fedoraapache", "pulled", "kubelet 192.168.1.202", `Successfully pulled image "kubelite/pause:1" (v0.6's shape, with a status)`, -time.Second)
	old.Status = "waiting"
	mustCreate(t, c,
		old,
		kev("e3", "Started", "Started container web", 3*time.Second),
		ev("e1", "Pod", "fedoraapache", "scheduled", "scheduler", "Successfully assigned fedoraapache to 192.168.1.202", 0),
		kev("e2", "Pulled", "Container image \"fedora/apache\"\n already present on machine", time.Second),
		ev("e4", "Pod", "hostport-x1y2z", "failedScheduling", "scheduler", "0/2 minions fit: 2 hostPort 8080 in use", 4*time.Second),
		ev("e5", "ReplicationController", "webservercontroller", "successfulCreate", "replication-controller", "Created pod webservercontroller-a1b2c", 5*time.Second),
		ev("e6", "Minion", "192.168.1.203", "NodeNotReady", "node-controller", "no heartbeat for 40s", 6*time.Second),
	)
	return c
}
