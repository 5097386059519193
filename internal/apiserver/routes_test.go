package apiserver_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kubelite/internal/apiserver"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// routeTargets are the paths TestRoutes sends every method to: every route,
// its trailing-slash and extra-segment variants, unknown versions and
// resources, and paths that are not canonical (empty, dot and escaped
// segments), which the router must not clean or redirect.
var routeTargets = []string{
	"/", "/nope", "/livez", "/livez/", "/healthz", "/healthz/", "/readyz", "/readyz/",
	"/version", "/version/", "/version/x", "/validate", "/validate/", "/metrics", "/metrics/",
	"/ui", "/ui/", "/ui/nope", "/api", "/api/", "/api/v1", "/api/v1/", "/api/v1/pods", "/apis", "/openapi",
	"/api/v1beta3", "/api/v1beta3/pods", "/api/v1beta1", "/api/v1beta1/",
	"/api/v1beta1/version", "/api/v1beta1/version/", "/api/v1beta1/version/x",
	"/api/v1beta1/pods", "/api/v1beta1/pods/", "/api/v1beta1/pods/web", "/api/v1beta1/pods/web/",
	"/api/v1beta1/pods/web/x", "/api/v1beta1/pods/nope", "/api/v1beta1/pods?namespace=other",
	"/api/v1beta1/pods/web/status", "/api/v1beta1/services/web/status",
	"/api/v1beta1/nope", "/api/v1beta1/nope/x", "/api/v1beta1/bindings", "/api/v1beta1/bindings/",
	"/api/v1beta1/bindings/x", "/api/v1beta1/events", "/api/v1beta1/endpoints/svc",
	"/api/v1beta1/replicationControllers", "/api/v1beta1/replicationcontrollers/x",
	"/api/v1beta2/minions", "/api/v1beta2/nodes/m1", "/api/v1beta2/services/svc",
	"/api/v1beta1/watch", "/api/v1beta1/watch/", "/api/v1beta1/watch/pods", "/api/v1beta1/watch/pods/",
	"/api/v1beta1/watch/pods/web", "/api/v1beta1/watch/pods/web/", "/api/v1beta1/watch/pods/web/x",
	"/api/v1beta1/watch/bindings", "/api/v1beta1/watch/nope",
	"/api/v1beta1/proxy", "/api/v1beta1/proxy/", "/api/v1beta1/proxy/minions", "/api/v1beta1/proxy/minions/",
	"/api/v1beta1/proxy/minions/m1", "/api/v1beta1/proxy/minions/m1/", "/api/v1beta1/proxy/minions/m1/stats/x",
	"/api/v1beta1/proxy/minions/m1/stats//x", "/api/v1beta1/proxy/minions/m1/a/../b", "/api/v1beta1/proxy/minions/m1/a%2Fb",
	"/api/v1beta1/proxy/minions/nope/x", "/api/v1beta1/proxy/services/svc/x", "/api/v1beta1/proxy/nope/x/y",
	"/api/v1beta1/redirect", "/api/v1beta1/redirect/minions", "/api/v1beta1/redirect/minions/m1",
	"/api/v1beta1/redirect/minions/m1/", "/api/v1beta1/redirect/minions/m1/x", "/api/v1beta1/redirect/services/svc",
	"/api//v1beta1/pods", "//api/v1beta1/pods", "/api/v1beta1//pods", "/api/v1beta1/pods//",
	"/api/v1beta1/pods//web", "/api/v1beta1/pods/.", "/api/v1beta1/pods/..", "/api/v1beta1/pods/../pods",
	"/api/v1beta1/./pods", "/api/v1beta1/pods/./web", "/api/v1beta1/pods/a%2Fb", "/api/v1beta1/pods/%2E%2E",
	"/api/v1beta1/pods/web%2F", "/api/v1beta1/watch//pods", "/api/v1beta1/version//", "/livez//", "/ui/../api",
	"/api/v1beta1/proxy//minions/m1", "/api/v1beta1/redirect/minions//m1",
}

var routeMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

// TestRoutes pins what every method on every target answers (status code,
// reason, Allow, Location, and the proxied path) in testdata/routes.txt;
// -update rewrites it. Bodies are empty, so writes stop at decoding: the
// route, not the registry, is what is pinned.
func TestRoutes(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for _, target := range routeTargets {
		for _, method := range routeMethods {
			h := newServer(t, seeded(t), apiserver.Config{}).Handler()
			req := httptest.NewRequest(method, target, nil)
			if method != http.MethodGet && method != http.MethodHead {
				req.Header.Set("Content-Type", "application/json")
			}
			if strings.Contains(target, "/watch/") && (method == http.MethodGet || method == http.MethodHead) {
				// A watch streams until its context ends: end it at once.
				ctx, cancel := context.WithCancel(req.Context())
				cancel()
				req = req.WithContext(ctx)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			fmt.Fprintf(&b, "%-7s %-45s %d", method, target, rec.Code)
			var st struct {
				Kind   string `json:"kind"`
				Reason string `json:"reason"`
			}
			if json.Unmarshal(rec.Body.Bytes(), &st) == nil && st.Kind == "Status" && st.Reason != "" {
				fmt.Fprintf(&b, " %s", st.Reason)
			}
			if a := rec.Header().Get("Allow"); a != "" {
				fmt.Fprintf(&b, " allow=%q", a)
			}
			if l := rec.Header().Get("Location"); l != "" {
				fmt.Fprintf(&b, " location=%q", l)
			}
			if rec.Code == http.StatusOK && strings.Contains(target, "/proxy/") && method != http.MethodHead {
				fmt.Fprintf(&b, " proxied=%q", rec.Body.String())
			}
			b.WriteString("\n")
		}
	}
	path := filepath.Join("testdata", "routes.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestRoutes -update)", err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Errorf("line %d:\n got %s\nwant %s", i+1, g, w)
			}
		}
	}
}
