package kubectl

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kubelite/internal/etcd/etcdtest"
)

func TestClassifyServer(t *testing.T) {
	for _, tc := range []struct {
		version, health, want string
	}{
		{`{"etcdserver":"3.7.3","etcdcluster":"3.7.0"}`, "404 page not found", serverEtcd},
		{"404 page not found\n", "[+]ping ok\n[+]docker ok\n[-]pods-synced failed: not yet\nreadyz check failed\n", serverKubelet},
		{`{"major":"0","minor":"6+","gitVersion":"v0.6.2"}`, "[+]ping ok\n[+]etcd ok\nreadyz check passed\n", serverUnknown},
		{"<html>apache</html>", "<html>apache</html>", serverUnknown},
		{"", "", serverUnknown},
	} {
		if got := classifyServer([]byte(tc.version), []byte(tc.health)); got != tc.want {
			t.Errorf("classifyServer(%q, %q) = %q, want %q", tc.version, tc.health, got, tc.want)
		}
	}
}

// runAgainst runs `kubectl -s server args...` with the real HTTP client and
// returns the error's text with the server's URL replaced by SERVER.
func runAgainst(t *testing.T, server string, args ...string) string {
	t.Helper()
	r := &Runner{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard,
		Connect: ConnectHTTP, Identify: identifyServer}
	err := r.Run(context.Background(), append([]string{"-s", server}, args...))
	if err == nil {
		t.Fatalf("kubectl -s %s %v succeeded", server, args)
	}
	return strings.ReplaceAll(err.Error(), server, "SERVER") + "\n"
}

// kubectl pointed at etcd's client port says so (a real embedded etcd).
func TestPointedAtEtcd(t *testing.T) {
	e := etcdtest.Start(t, "")
	golden(t, "wrong_server_etcd", runAgainst(t, e.Endpoints()[0], "get", "pods"))
}

// kubectl pointed at a kubelet's port says so. The server answers as the
// kubelet's handler does (internal/kubelet: /healthz?verbose lists its
// checks, everything else is 404 to kubectl's paths).
func TestPointedAtKubelet(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "[+]ping ok\n[+]docker ok\n[+]pods-synced ok\nreadyz check passed\n")
	})
	kl := httptest.NewTLSServer(mux)
	defer kl.Close()
	got := runAgainst(t, kl.URL, "get", "minions", "--insecure-skip-tls-verify")
	golden(t, "wrong_server_kubelet", got)
}

// An API server's own errors are left as they are.
func TestRightServerUnchanged(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			io.WriteString(w, "[+]ping ok\n[+]etcd ok\nreadyz check passed\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"kind":"Status","apiVersion":"v1beta1","status":"Failure","message":"pod \"x\" not found","reason":"NotFound","code":404}`)
	}))
	defer api.Close()
	if got := runAgainst(t, api.URL, "get", "pods", "x"); strings.Contains(got, "not the API server") {
		t.Errorf("an API server's 404 was taken for a wrong port: %s", got)
	}
}
