package apiserver_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kubelite/internal/apiserver"
	"kubelite/internal/auth"
	"kubelite/internal/store/memory"
)

// TestMetricsAndDashboardBehindTheGuard: /metrics needs what every read
// needs (a credential, or plain HTTP from this host); the dashboard's
// static page answers anyone.
func TestMetricsAndDashboardBehindTheGuard(t *testing.T) {
	h := newServer(t, memory.New(), apiserver.Config{Security: &apiserver.Security{
		Authn: auth.NewAuthenticator(map[string]auth.User{"admin-token": {Name: auth.Admin}, "m1-token": {Name: "minion:m1", Groups: []string{auth.MinionsGroup}}}, nil),
	}}).Handler()
	for _, tc := range []struct {
		name, path, remote, token string
		tls                       bool
		code                      int
		body                      string
	}{
		{"metrics, tls, anonymous", "/metrics", "192.0.2.7:4000", "", true, 401, ""},
		{"metrics, tls, admin", "/metrics", "192.0.2.7:4000", "admin-token", true, 200, "# TYPE apiserver_request_total counter"},
		{"metrics, tls, a minion", "/metrics", "192.0.2.7:4000", "m1-token", true, 403, ""},
		{"metrics, plain, loopback", "/metrics", "127.0.0.1:4000", "", false, 200, "go_goroutines"},
		{"metrics, plain, another host", "/metrics", "192.0.2.7:4000", "", false, 403, "https"},
		{"dashboard, tls, anonymous", "/ui/", "192.0.2.7:4000", "", true, 200, "<title>kubelite</title>"},
		{"dashboard, plain, another host", "/ui/app.js", "192.0.2.7:4000", "", false, 200, "sessionStorage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.path, nil)
			r.Host = "127.0.0.1:8080"
			r.RemoteAddr = tc.remote
			if tc.tls {
				r.TLS = &tls.ConnectionState{HandshakeComplete: true}
			}
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("%d %.300s; want %d with %q", rec.Code, rec.Body.String(), tc.code, tc.body)
			}
		})
	}
}
