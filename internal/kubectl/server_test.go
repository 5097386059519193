package kubectl

import (
	"context"
	"fmt"
	"io"
	"kubelite/internal/endpoint"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestServerChoice: -s wins, then $KUBERNETES_MASTER, then localhost:8080,
// and the standalone's localhost:8081 only when 8080 is not listening and
// 8081 is.
func TestServerChoice(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		env       string
		listening map[string]bool
		want      string
	}{
		{"flag", []string{"-s", "http://m:9000", "get", "pods"}, "", nil, "http://m:9000"},
		{"flag without scheme", []string{"-s", "m:9000", "get", "pods"}, "", nil, "http://m:9000"},
		{"env", []string{"get", "pods"}, "http://e:8080", nil, "http://e:8080"},
		{"default listening", []string{"get", "pods"}, "", map[string]bool{DefaultServer: true, StandaloneServer: true}, DefaultServer},
		{"only standalone", []string{"get", "pods"}, "", map[string]bool{StandaloneServer: true}, StandaloneServer},
		{"nothing listening", []string{"get", "pods"}, "", map[string]bool{}, DefaultServer},
		{"flag not overridden by standalone", []string{"-s", DefaultServer, "get", "pods"}, "", map[string]bool{StandaloneServer: true}, DefaultServer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			c := newFakeClient()
			r := &Runner{
				Stdout: io.Discard, Stderr: io.Discard,
				Getenv:    func(k string) string { return map[string]string{"KUBERNETES_MASTER": tc.env}[k] },
				Connect:   func(ep endpoint.Endpoint) (Client, error) { got = ep.URL; return c, nil },
				Listening: func(s string) bool { return tc.listening[s] },
			}
			if err := r.Run(context.Background(), tc.args); err != nil {
				t.Fatalf("run: %v", err)
			}
			if got != tc.want {
				t.Fatalf("connected to %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAnswersAPI: only an API server's /version counts, not any listener
// (the tutorial's apache pod listens on localhost:8080 in standalone).
func TestAnswersAPI(t *testing.T) {
	apiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/version" {
			fmt.Fprint(w, `{"major":"0","minor":"6+","gitVersion":"v0.6.2-kubelite"}`)
			return
		}
		http.NotFound(w, r)
	}))
	defer apiSrv.Close()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "pod: fedoraapache\n")
	}))
	defer web.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	cases := []struct {
		name, url string
		want      bool
	}{{"api server", apiSrv.URL, true}, {"web server", web.URL, false}, {"nothing listening", closedURL, false}}
	for _, tc := range cases {
		if got := answersAPI(tc.url); got != tc.want {
			t.Errorf("%s: answersAPI = %v, want %v", tc.name, got, tc.want)
		}
	}
}
