package kubectl

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/clock"
	"kubelite/internal/store/memory"
)

// apiCluster is a real API server (internal/apiserver over a memory store)
// on a loopback httptest server, and a fake kubelet serving container logs.
type apiCluster struct {
	st      *memory.Store
	url     string
	kubelet *httptest.Server
	logPath chan string
}

func startAPI(t *testing.T) *apiCluster {
	t.Helper()
	st := memory.New()
	ac := &apiCluster{st: st, logPath: make(chan string, 4)}
	ac.kubelet = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ac.logPath <- r.URL.RequestURI()
		if !strings.HasPrefix(r.URL.Path, "/containerLogs/default/fedoraapache/fedoraapache") {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("AH00558: httpd: Could not reliably determine the server's fully qualified domain name\n"))
	}))
	t.Cleanup(ac.kubelet.Close)
	// The fake kubelet is on loopback: the API reaches only this host's own
	// kubelet port there.
	kport, _ := strconv.Atoi(ac.kubelet.URL[strings.LastIndex(ac.kubelet.URL, ":")+1:])
	srv, err := apiserver.New(apiserver.Config{Store: st, KubeletPort: kport, Version: api.ServerVersion{Major: "0", Minor: "6+", GitVersion: "v0.6.2", GitCommit: "729fde276613eedcd99ecf5b93f095b8deb64eb4", GitTreeState: "clean"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	ac.url = hs.URL
	return ac
}

// kubectl runs one command line through the real HTTP client.
func (ac *apiCluster) kubectl(stdin string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	r := &Runner{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv:        func(k string) string { return map[string]string{"KUBERNETES_MASTER": ac.url}[k] },
		Connect:       ConnectHTTP,
		Clock:         clock.Real{},
		ClientVersion: api.ServerVersion{Major: "0", Minor: "6+", GitVersion: "v0.6.2-kubelite", GitCommit: "abc", GitTreeState: "clean"},
	}
	err := r.Run(context.Background(), args)
	return out.String(), errb.String(), err
}

func TestThroughAPIServer(t *testing.T) {
	ac := startAPI(t)
	ok := func(args ...string) string {
		t.Helper()
		out, stderr, err := ac.kubectl("", args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v (stderr %q)", strings.Join(args, " "), err, stderr)
		}
		return out
	}
	// The tutorial's three files create as they are.
	for _, f := range []string{"apache-pod.json", "lnmp-replication.json", "lnmp-service.json"} {
		ok("create", "-f", filepath.Join(tutorialDir, f))
	}
	// Play scheduler and kubelet for the pod, then list as the tutorial does.
	p, err := ac.st.Get(context.Background(), api.Pods, "default", "fedoraapache")
	if err != nil {
		t.Fatal(err)
	}
	pod := p.(*api.Pod)
	pod.DesiredState.Host, pod.CurrentState.Host, pod.CurrentState.Phase = "192.168.1.202", "192.168.1.202", api.PodPhaseRunning
	if _, err := ac.st.Update(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	_, portS, _ := net.SplitHostPort(strings.TrimPrefix(ac.kubelet.URL, "http://"))
	port, _ := strconv.Atoi(portS)
	mustCreate(t, ac.st, &api.Minion{TypeMeta: api.TypeMeta{ID: "192.168.1.202"}, HostIP: "127.0.0.1", KubeletPort: port, Status: api.MinionStatus{Condition: api.MinionReady}})

	golden(t, "api_get_pods", ok("get", "pods"))
	golden(t, "api_get_rc", ok("get", "rc"))
	golden(t, "api_get_minions", ok("get", "minions"))
	if out := ok("get", "services", "-o", "template", "-t", "{{ range .items }}{{ .id }} {{ .port }} {{ .selector.name }};{{ end }}"); out != "webserver 8080 webserver_pod;" {
		t.Errorf("services template: %q", out)
	}
	if out := ok("get", "pod", "fedoraapache", "-t", "{{ .currentState.phase }} {{ .desiredState.host }}"); out != "Running 192.168.1.202" {
		t.Errorf("pod template: %q", out)
	}
	if out := ok("version"); !strings.Contains(out, `Server Version: &version.Info{Major:"0", Minor:"6+", GitVersion:"v0.6.2", GitCommit:"729fde276613eedcd99ecf5b93f095b8deb64eb4", GitTreeState:"clean"}`) {
		t.Errorf("version:\n%s", out)
	}
	if out := ok("log", "fedoraapache"); !strings.HasPrefix(out, "AH00558") {
		t.Errorf("log: %q", out)
	}
	if got := <-ac.logPath; got != "/containerLogs/default/fedoraapache/fedoraapache" {
		t.Errorf("kubelet asked for %q", got)
	}
	// The server's rejection is printed and fails the command.
	_, _, err = ac.kubectl("", "create", "-f", filepath.Join(tutorialDir, "apache-pod.json"))
	if err == nil || !strings.Contains(err.Error(), `create Pod "fedoraapache": `) || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second create: %v", err)
	}
	_, _, err = ac.kubectl(`{"kind": "Pod", "id": "a", "desiredState": `, "create", "-f", "-")
	if err == nil || !strings.Contains(err.Error(), "-:1:") {
		t.Errorf("syntax error on stdin: %v", err)
	}
	// -o json round-trips through create -f -.
	js := ok("get", "services", "webserver", "-o", "json")
	ok("delete", "services", "webserver")
	if out, _, err := ac.kubectl(js, "create", "-f", "-"); err != nil || out != "webserver\n" {
		t.Errorf("re-create from -o json: %q %v", out, err)
	}
	// Scale, then delete the RC with its pods.
	ok("resize", "webservercontroller", "6")
	if out := ok("get", "rc", "webservercontroller", "-t", "{{ .desiredState.replicas }}"); out != "6" {
		t.Errorf("replicas after resize: %q", out)
	}
	mustCreate(t, ac.st, pod2("webservercontroller-abcde", map[string]string{"name": "webserver_pod"}))
	ok("delete", "rc", "webservercontroller")
	if out := ok("get", "pods", "-l", "name=webserver_pod", "--no-headers"); out != "" {
		t.Errorf("pods of the deleted rc:\n%s", out)
	}
	// The tutorial's delete loop, through HTTP.
	for _, l := range strings.Split(strings.TrimSpace(ok("get", "pod")), "\n")[1:] {
		ok("delete", "pod", strings.Fields(l)[0])
	}
	if out := ok("get", "pods"); strings.Join(strings.Fields(out), " ") != strings.Join(columns(api.Pods), " ") {
		t.Errorf("after the loop:\n%q", out)
	}
	// No server: a clear error.
	var out, errb bytes.Buffer
	r := &Runner{Stdout: &out, Stderr: &errb, Connect: ConnectHTTP}
	err = r.Run(context.Background(), []string{"-s", "127.0.0.1:1", "get", "pods"})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable server: %v", err)
	}
}

func pod2(id string, labels map[string]string) *api.Pod {
	p := pod(id, "yorko/webserver", "", "", "", labels)
	p.CreationTimestamp = p.CreationTimestamp.UTC()
	return p
}
