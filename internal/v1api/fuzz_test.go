package v1api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kubelite/internal/apiserver"
	"kubelite/internal/store/memory"
)

// FuzzV1Handlers: no input to /api/v1 (path, query, body, content type)
// gets a 5xx or a panic.
func FuzzV1Handlers(f *testing.F) {
	for _, s := range []struct{ method, target, ct, body string }{
		{"POST", "/api/v1/namespaces/default/pods", "application/json", podJSON},
		{"POST", "/api/v1/namespaces/default/replicationcontrollers", "application/json", rcJSON},
		{"PATCH", "/api/v1/namespaces/default/pods/web", "application/strategic-merge-patch+json", `{"spec":{"containers":[{"name":"web","image":"x"}]}}`},
		{"PATCH", "/api/v1/namespaces/default/pods/web", "application/json-patch+json", `[{"op":"move","from":"/spec","path":"/metadata"}]`},
		{"PATCH", "/api/v1/namespaces/default/replicationcontrollers/fe/scale", "application/merge-patch+json", `{"spec":{"replicas":"x"}}`},
		{"PUT", "/api/v1/nodes/m1", "application/json", `{"metadata":{"name":"m1","resourceVersion":"-1"}}`},
		{"POST", "/api/v1/namespaces/default/services", "application/vnd.kubernetes.protobuf", "k8s\x00\x0a\x01"},
		{"DELETE", "/api/v1/namespaces/default/pods/web", "application/json", `{"propagationPolicy":7}`},
		{"GET", "/api/v1/pods?watch=1&resourceVersion=99999999999&timeoutSeconds=1", "", ""},
		{"GET", "/api/v1/pods?labelSelector=a+in+(b&fieldSelector=spec.nodeName!=x", "", ""},
		{"GET", "/openapi/v3/api/v1", "", ""},
	} {
		f.Add(s.method, s.target, s.ct, s.body)
	}
	h := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, method, target, ct, body string) {
		switch method {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			return
		}
		if !strings.HasPrefix(target, "/") || strings.Contains(target, "watch") || strings.Contains(target, "follow") {
			return // streams are tested apart; they end only with the client
		}
		req, err := http.NewRequest(method, "http://127.0.0.1"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s (%s) %q: %d %s", method, target, ct, body, rec.Code, rec.Body)
		}
	})
}

func newFuzzServer(f *testing.F) http.Handler {
	srv, err := apiserver.New(apiserver.Config{Store: memory.New()})
	if err != nil {
		f.Fatal(err)
	}
	return srv.Handler()
}
