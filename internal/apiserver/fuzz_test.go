package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/registry"
	"kubelite/internal/store"
)

var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}

// FuzzHandlers sends arbitrary methods, paths and bodies to a server over a
// seeded memory store, and to one over the registry (the API's semantics)
// on the same seed, and checks that no input gets a 5xx (which includes a
// recovered panic) and that every error is a Status. Proxied traffic goes
// to a fake transport that always answers, so only the input can fail.
//
//	go test -run '^$' -fuzz FuzzHandlers -fuzztime 60s ./internal/apiserver/
func FuzzHandlers(f *testing.F) {
	for _, s := range []struct {
		m    uint8
		path string
		body string
	}{
		{0, "/api/v1beta1/pods?labels=app%3Dweb&fields=DesiredState.Host%3D", ""},
		{1, "/api/v1beta1/pods", podJSON},
		{1, "/api/v1beta1/pods?namespace=x", `{"id":"a","namespace":"y"}`},
		{1, "/api/v1beta1/services", `{"id":"s","port":80,"containerPort":"http","selector":{"a":"b"}}`},
		{1, "/api/v1beta1/replicationControllers", `{"id":"r","desiredState":{"replicas":2,"replicaSelector":{"a":"b"}}}`},
		{1, "/api/v1beta1/bindings", `{"podID":"web","host":"m1"}`},
		{1, "/api/v1beta1/minions", `{"id":"m","hostIP":"127.0.0.1","kubeletPort":1}`},
		{1, "/api/v1beta1/events", `{"id":"e","involvedObject":{"kind":"Pod","name":"web"},"timestamp":"bad"}`},
		{2, "/api/v1beta2/pods/web", `{"id":"web","resourceVersion":1}`},
		{2, "/api/v1beta1/pods/web", `{"id":"web","resourceVersion":-1}`},
		{3, "/api/v1beta1/pods/web", ""},
		{0, "/api/v1beta1/watch/pods?resourceVersion=1&fields=name%3Dweb", ""},
		{0, "/api/v1beta1/watch/pods/web?fields=a", ""},
		{0, "/api/v1beta1/proxy/minions/m1/containerLogs/default/web/c", ""},
		{0, "/api/v1beta1/proxy/services/svc/", ""},
		{0, "/api/v1beta1/redirect/services/svc", ""},
		{0, "/validate", ""},
		{4, "/api/v1beta1/pods/web", "{"},
		{0, "/api/v1beta1/pods/%2F..%2F", ""},
	} {
		f.Add(s.m, s.path, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, m uint8, path string, body []byte) {
		u, err := url.ParseRequestURI(path)
		if err != nil || len(path) == 0 || path[0] != '/' {
			return // not something an HTTP server can receive
		}
		for _, withRegistry := range []bool{false, true} {
			s := seeded(t)
			if _, err := s.Delete(context.Background(), api.Services, "default", "empty"); err != nil {
				t.Fatal(err) // a service without endpoints is a legitimate 503 on proxy
			}
			makeLive(t, s) // svc's endpoint is a running pod's: proxy and redirect follow it
			var st store.Store = s
			if withRegistry {
				st = startRegistry(t, s)
			}
			h := newServer(t, st, apiserver.Config{
				HealthChecks: map[string]apiserver.HealthCheck{"etcd-0": func(context.Context) error { return nil }},
			}).Handler()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond) // ends watches
			req := (&http.Request{
				Method: fuzzMethods[int(m)%len(fuzzMethods)], URL: u, RequestURI: path,
				Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{"Content-Type": {"application/json"}}, Host: "127.0.0.1:8080",
				Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), RemoteAddr: "127.0.0.1:1",
			}).WithContext(ctx)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			cancel()
			if rec.Code >= 500 {
				t.Fatalf("registry=%v %s %q (body %q): %d %s", withRegistry, req.Method, path, body, rec.Code, rec.Body)
			}
			if rec.Code >= 400 && req.Method != "HEAD" {
				var st api.Status
				if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil || st.Kind != "Status" || st.Code != rec.Code {
					t.Fatalf("registry=%v %s %q: error %d is not a Status: %s", withRegistry, req.Method, path, rec.Code, rec.Body)
				}
			}
		}
	})
}

// startRegistry runs a registry over raw until the test ends.
func startRegistry(t testing.TB, raw store.Store) *registry.Registry {
	t.Helper()
	// Writes get 30 s, not the product's 3 s: these tests load the machine
	// on purpose (thousands of hostile connections beside -race), and a
	// write that commits late is not what they test.
	reg, err := registry.New(raw, registry.Config{WriteTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- reg.Run(ctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("registry did not start: %v", err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return reg
}
