package apiserver

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/store/memory"
)

// TestProbes: /livez always answers; /readyz and /healthz turn 503 when a
// check fails, naming it; ?verbose lists every check.
func TestProbes(t *testing.T) {
	etcdDown := false
	srv, err := New(Config{Store: memory.New(), Version: api.ServerVersion{GitVersion: "v0.6.2"}, HealthChecks: map[string]HealthCheck{
		"etcd-0": func(context.Context) error {
			if etcdDown {
				return errors.New("etcd health: context deadline exceeded")
			}
			return nil
		},
		"leader": func(context.Context) error { return nil },
	}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = "127.0.0.1:1234"
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(b)
	}
	for _, p := range []string{"/livez", "/readyz", "/healthz"} {
		if code, body := get(p); code != 200 || body != "ok" {
			t.Errorf("%s = %d %q, want 200 ok", p, code, body)
		}
	}
	if code, body := get("/readyz?verbose"); code != 200 || !strings.Contains(body, "[+]etcd-0 ok\n[+]leader ok\nreadyz check passed") {
		t.Errorf("/readyz?verbose = %d %q", code, body)
	}
	etcdDown = true
	for _, p := range []string{"/readyz", "/healthz"} {
		if code, body := get(p); code != 503 || !strings.Contains(body, "[-]etcd-0 failed: etcd health: context deadline exceeded") || !strings.Contains(body, "readyz check failed") {
			t.Errorf("%s with etcd down = %d %q", p, code, body)
		}
	}
	if code, _ := get("/livez"); code != 200 {
		t.Errorf("/livez with etcd down = %d, want 200", code)
	}
}
