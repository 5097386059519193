package apiserver_test

import (
	"strings"
	"testing"

	"kubelite/internal/apiserver"
	"kubelite/internal/store/memory"
)

// v0.6 decoded bodies as YAML: the blog's files with trailing commas are
// accepted; its curly quotes are a 400 naming them with line and column.
func TestV1beta1BlogBodies(t *testing.T) {
	h := newServer(t, memory.New(), apiserver.Config{}).Handler()
	svc := "{\n  \"id\": \"webserver\",\n  \"kind\": \"Service\",\n  \"apiVersion\": \"v1beta1\",\n" +
		"  \"selector\": {\n    \"name\": \"webserver_pod\",\n  },\n  \"containerPort\": 80,\n  \"port\": 8080,\n}\n"
	if rec := do(h, "POST", "/api/v1beta1/services", svc); rec.Code != 201 {
		t.Fatalf("trailing commas: %d %s", rec.Code, rec.Body)
	}
	rec := do(h, "POST", "/api/v1beta1/services", "{\n  \"id\": \u201cweb\u201d}")
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "typographic quote") || !strings.Contains(rec.Body.String(), "line 2, column 9") {
		t.Fatalf("curly quotes: %d %s", rec.Code, rec.Body)
	}
	// Unknown keys stay refused, YAML or not.
	if rec := do(h, "POST", "/api/v1beta1/services", "{\"id\": \"w2\", \"kind\": \"Service\", \"port\": 1, \"Port\": 2,}"); rec.Code != 400 {
		t.Fatalf("case-mangled key: %d %s", rec.Code, rec.Body)
	}
}
