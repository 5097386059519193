package apiserver

import (
	"net/http/httptest"
	"testing"

	"kubelite/internal/auth"
)

// requestAttributes reads /api/v1 paths with the policy's words, and
// v1beta1 paths as before.
func TestRequestAttributesV1(t *testing.T) {
	cases := []struct {
		method, target string
		want           auth.Attributes
	}{
		{"GET", "/api/v1/namespaces/default/pods", auth.Attributes{Verb: "list", Resource: "pods", Namespace: "default"}},
		{"GET", "/api/v1/pods?watch=true", auth.Attributes{Verb: "watch", Resource: "pods"}},
		{"GET", "/api/v1/watch/namespaces/ns1/pods/p", auth.Attributes{Verb: "watch", Resource: "pods", Namespace: "ns1", Name: "p"}},
		{"GET", "/api/v1/namespaces/default/pods/p/log", auth.Attributes{Verb: "proxy", Resource: "pods", Namespace: "default", Name: "p"}},
		{"PATCH", "/api/v1/namespaces/default/pods/p/status", auth.Attributes{Verb: "update", Resource: "pods", Namespace: "default", Name: "p"}},
		{"PUT", "/api/v1/namespaces/d/replicationcontrollers/rc/scale", auth.Attributes{Verb: "update", Resource: "replicationControllers", Namespace: "d", Name: "rc"}},
		{"POST", "/api/v1/nodes", auth.Attributes{Verb: "create", Resource: "minions"}},
		{"PUT", "/api/v1/nodes/m1/status", auth.Attributes{Verb: "update", Resource: "minions", Name: "m1"}},
		{"DELETE", "/api/v1/namespaces/default/pods?labelSelector=a", auth.Attributes{Verb: "delete", Resource: "pods", Namespace: "default"}},
		{"GET", "/api/v1/namespaces/kube-system", auth.Attributes{Verb: "get", Resource: "namespaces", Name: "kube-system"}},
		{"POST", "/api/v1/namespaces/default/events", auth.Attributes{Verb: "create", Resource: "events", Namespace: "default"}},
		// Not resources: discovery and OpenAPI are paths.
		{"GET", "/api/v1", auth.Attributes{Verb: "get"}},
		{"GET", "/openapi/v3/api/v1", auth.Attributes{Verb: "get"}},
		// v1beta1 as before.
		{"GET", "/api/v1beta1/pods?namespace=x", auth.Attributes{Verb: "list", Resource: "pods", Namespace: "x"}},
		{"PUT", "/api/v1beta1/minions/m1", auth.Attributes{Verb: "update", Resource: "minions", Name: "m1"}},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.target, nil)
		got := requestAttributes(r)
		c.want.Path = r.URL.Path
		if got != c.want {
			t.Errorf("%s %s: %+v, want %+v", c.method, c.target, got, c.want)
		}
	}
	// What the policy then says, for a minion.
	m1 := auth.User{Name: auth.MinionPrefix + "m1"}
	for _, c := range []struct {
		method, target string
		allowed        bool
	}{
		{"GET", "/api/v1/pods?watch=1", true},
		{"PUT", "/api/v1/nodes/m1/status", true},
		{"PATCH", "/api/v1/nodes/m2", false},
		{"GET", "/api/v1/namespaces/default/pods/p/log", false},
		{"DELETE", "/api/v1/namespaces/default/pods/p", false},
	} {
		ok, why := auth.Authorize(m1, requestAttributes(httptest.NewRequest(c.method, c.target, nil)))
		if ok != c.allowed {
			t.Errorf("minion %s %s: %v (%s)", c.method, c.target, ok, why)
		}
	}
}
