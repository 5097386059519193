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
	get := probeServer(t, map[string]HealthCheck{
		"etcd-0": func(context.Context) error {
			if etcdDown {
				return errors.New("etcd health: context deadline exceeded")
			}
			return nil
		},
		"leader": func(context.Context) error { return nil },
	})
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

// A check made WithNote prints its note after ok in ?verbose (the leader's
// name); a failing one prints its error, not the note.
func TestProbeNotes(t *testing.T) {
	leaderOK := true
	get := probeServer(t, map[string]HealthCheck{
		"etcd-0": func(context.Context) error { return nil },
		"leader": WithNote(func(context.Context) (string, error) {
			if !leaderOK {
				return "leader: m1, this master: yes", errors.New("no master has led for 12s")
			}
			return "leader: m1 10.0.0.1:8080, this master: yes", nil
		}),
	})
	if code, body := get("/readyz?verbose"); code != 200 || body != "[+]ping ok\n[+]etcd-0 ok\n[+]leader ok (leader: m1 10.0.0.1:8080, this master: yes)\nreadyz check passed\n" {
		t.Errorf("/readyz?verbose = %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != "ok" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	leaderOK = false
	if code, body := get("/readyz?verbose"); code != 503 || !strings.Contains(body, "[-]leader failed: no master has led for 12s\n") || strings.Contains(body, "this master") {
		t.Errorf("/readyz?verbose, leader failing = %d %q", code, body)
	}
}

// probeServer is an API server with checks, and a GET of its paths from
// loopback returning the code and body.
func probeServer(t *testing.T, checks map[string]HealthCheck) func(path string) (int, string) {
	t.Helper()
	srv, err := New(Config{Store: memory.New(), Version: api.ServerVersion{GitVersion: "v0.6.2"}, HealthChecks: checks})
	if err != nil {
		t.Fatal(err)
	}
	return func(path string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = "127.0.0.1:1234"
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		b, _ := io.ReadAll(rec.Result().Body)
		return rec.Code, string(b)
	}
}
