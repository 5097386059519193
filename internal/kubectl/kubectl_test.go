package kubectl

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/endpoint"
)

func TestServerSelection(t *testing.T) {
	tests := []struct {
		env  string
		args []string
		want string
	}{
		{"", []string{"get", "pods"}, "http://localhost:8080"},
		{"http://192.168.1.200:8080", []string{"get", "pods"}, "http://192.168.1.200:8080"},
		{"http://192.168.1.200:8080", []string{"get", "pods", "-s", "10.0.0.1:8080"}, "http://10.0.0.1:8080"},
		{"", []string{"-s", "http://m:8080/", "get", "pods"}, "http://m:8080"},
		{"", []string{"--server=m:8080", "get", "pods"}, "http://m:8080"},
		{"", []string{"-s", "m:1", "run", "img", "1", "n", "-s", "80"}, "http://m:1"},
		{"", []string{"run", "img", "1", "n", "--server", "m:2"}, "http://m:2"},
	}
	for _, tc := range tests {
		var got []string
		c := newFakeClient()
		r := &Runner{
			Stdout: io.Discard, Stderr: io.Discard,
			Getenv:  func(k string) string { return map[string]string{"KUBERNETES_MASTER": tc.env}[k] },
			Connect: func(ep endpoint.Endpoint) (Client, error) { got = append(got, ep.URL); return c, nil },
		}
		if err := r.Run(context.Background(), tc.args); err != nil {
			t.Errorf("%v: %v", tc.args, err)
			continue
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%v with $KUBERNETES_MASTER=%q connected to %v, want %s", tc.args, tc.env, got, tc.want)
		}
	}
}

func TestNamespaceFlag(t *testing.T) {
	c := newFakeClient()
	mustCreate(t, c, pod("a", "img", "", "", "", nil))
	p := pod("b", "img", "", "", "", nil)
	p.Namespace = "test"
	mustCreate(t, c, p)
	if out := mustRun(t, c, "get", "pods", "--no-headers", "--namespace", "test"); !strings.HasPrefix(out, "b ") || strings.Contains(out, "\na ") {
		t.Errorf("get pods --namespace test:\n%s", out)
	}
	if out := mustRun(t, c, "get", "pods", "--no-headers"); !strings.HasPrefix(out, "a ") || strings.Count(out, "\n") != 1 {
		t.Errorf("get pods:\n%s", out)
	}
}

func TestFlagParsing(t *testing.T) {
	var o string
	var b bool
	f := newFlagSet("x", "x")
	f.String(&o, []string{"o", "output"}, "", "")
	f.Bool(&b, []string{"w"}, false, "")
	pos, err := f.Parse([]string{"pods", "-w", "a", "--output", "json", "-", "--", "-o"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pos, []string{"pods", "a", "-", "-o"}) || o != "json" || !b {
		t.Errorf("pos %v o %q w %v", pos, o, b)
	}
	if _, err := f.Parse([]string{"--output"}); err == nil {
		t.Error("a flag without its value parsed")
	}
	if _, err := f.Parse([]string{"--nope=1"}); err == nil || err.Error() != "unknown flag --nope" {
		t.Errorf("unknown flag: %v", err)
	}
	if _, err := f.Parse([]string{"-w=maybe"}); err == nil {
		t.Error("-w=maybe parsed")
	}
}

func TestHTTPExtrasErrors(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/version":
			http.Error(w, "upstream broke", http.StatusBadGateway)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"kind": "Status", "status": "Failure", "message": "minion \"m1\" at 10.0.0.1:10250 unreachable", "code": 503}`))
		}
	}))
	defer hs.Close()
	h := &httpExtras{base: hs.URL, hc: hs.Client()}
	if _, err := h.ServerVersion(context.Background()); err == nil || err.Error() != "get version: 502 Bad Gateway: upstream broke" {
		t.Errorf("version: %v", err)
	}
	var buf bytes.Buffer
	err := h.ContainerLogs(context.Background(), "m1", "default", "p", "c", false, &buf)
	var se *api.StatusError
	if err == nil || !strings.Contains(err.Error(), `minion "m1" at 10.0.0.1:10250 unreachable`) || !asStatus(err, &se) || se.Status.Code != 503 {
		t.Errorf("logs: %v", err)
	}
}

func asStatus(err error, se **api.StatusError) bool {
	for err != nil {
		if s, ok := err.(*api.StatusError); ok {
			*se = s
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestRunWarnsAboutHostPort(t *testing.T) {
	c := newFakeClient()
	mustCreate(t, c, &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}, Status: api.MinionStatus{Condition: api.MinionReady}})
	_, stderr, err := runCmd(t, c, "", "run", "fedora/apache", "2", "apache", "-p", "8080:80")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "sets hostPort 8080, so only one replica can run per minion; with 2 replicas and 1 ready minions, 1 stay Pending") {
		t.Errorf("stderr %q", stderr)
	}
	if _, stderr, _ := runCmd(t, c, "", "run", "img", "2", "noport", "-p", "80"); stderr != "" {
		t.Errorf("warned without a hostPort: %q", stderr)
	}
}
