package v1api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kubelite/internal/api"
)

// TestKindsTable walks the table: every row is complete and consistent,
// and discovery, the router and the OpenAPI documents know every kind. A
// kind missing somewhere is a failure here, not a 404 at run time.
func TestKindsTable(t *testing.T) {
	disc := resourceList()
	d := openAPI()
	if d.err != nil {
		t.Fatal(d.err)
	}
	var v3 struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(d.v3, &v3); err != nil {
		t.Fatal(err)
	}
	seenRes := map[api.Resource]bool{}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			if k.name == "" || k.singular == "" || k.kind == "" || k.newV1 == nil || k.fields == nil || k.row == nil || len(k.columns) == 0 {
				t.Fatalf("incomplete row %+v", k)
			}
			if k.res != "" {
				if seenRes[k.res] {
					t.Fatalf("resource %s has two rows", k.res)
				}
				seenRes[k.res] = true
				if k.toV1 == nil || k.fromV1 == nil {
					t.Fatal("a stored kind needs both conversions")
				}
				if k.namespaced != k.res.Namespaced() {
					t.Fatalf("namespaced %v, but v1beta1 says %v", k.namespaced, k.res.Namespaced())
				}
				obj := api.New(k.res)
				if got := reflect.TypeOf(k.toV1(obj)); got != reflect.TypeOf(k.newV1()) {
					t.Fatalf("toV1 gives %v, newV1 %v", got, reflect.TypeOf(k.newV1()))
				}
				if kindOfResource(k.res) != k {
					t.Fatal("kindOfResource does not find the row")
				}
			}
			fields := k.fields(k.newV1())
			for f, storeName := range k.storeFields {
				if _, ok := fields[f]; !ok {
					t.Errorf("store field %s is not a selectable field", f)
				}
				if k.res != "" && api.ValidateFieldSelector(k.res, api.SelectorFromSet(map[string]string{storeName: "x"})) != nil {
					t.Errorf("the store cannot select on %s (for %s)", storeName, f)
				}
			}
			if row := k.row(k.newV1(), &tableContext{now: time.Now()}); len(row) != len(k.columns) {
				t.Fatalf("row of %d cells, %d columns", len(row), len(k.columns))
			}
			found := false
			for _, r := range disc.APIResources {
				found = found || (r.Name == k.name && r.Kind == k.kind && r.Namespaced == k.namespaced)
			}
			for sub := range k.subresources {
				ok := false
				for _, r := range disc.APIResources {
					ok = ok || r.Name == k.name+"/"+sub
				}
				if !ok {
					t.Errorf("discovery lacks %s/%s", k.name, sub)
				}
			}
			if !found {
				t.Error("not in discovery")
			}
			path := "/api/v1/" + k.name
			if k.namespaced {
				path = "/api/v1/namespaces/default/" + k.name
			}
			if req, ok := ParseRequest(http.MethodGet, path+"/x", nil); !ok || req.kind != k {
				t.Errorf("router: %s/x", path)
			}
			def := defName(reflect.TypeOf(k.newV1()).Elem())
			if _, ok := v3.Components.Schemas[def]; !ok {
				t.Errorf("OpenAPI lacks %s", def)
			}
			if op := v3.Paths[strings.Replace(path, "/default/", "/{namespace}/", 1)+"/{name}"]; op == nil || op["get"] == nil || (k.res != "" && op["patch"] == nil) {
				t.Errorf("OpenAPI lacks the operations of %s", path)
			}
		})
	}
	for _, res := range api.AllResources {
		if !seenRes[res] {
			t.Errorf("v1beta1 resource %s has no v1 row", res)
		}
	}
	// What kubectl checks before it validates on the server.
	if !strings.Contains(string(d.v3), `"name":"fieldValidation"`) || !strings.Contains(string(d.v3), `"x-kubernetes-patch-merge-key":"name"`) {
		t.Error("OpenAPI v3 lacks fieldValidation or the containers' merge key")
	}
	if len(d.v2pb) == 0 || string(d.v3root) == "" {
		t.Error("no protobuf v2 or v3 root")
	}
}

func TestParseRequest(t *testing.T) {
	cases := []struct {
		method, path string
		query        map[string][]string
		want         string // verb resource ns name sub, or "-" for not a resource
	}{
		{"GET", "/api/v1/pods", nil, "list pods   "},
		{"GET", "/api/v1/namespaces/d/pods", nil, "list pods d  "},
		{"GET", "/api/v1/namespaces/d/pods/", nil, "list pods d  "},
		{"GET", "/api/v1/namespaces/d/pods", map[string][]string{"watch": {"1"}}, "watch pods d  "},
		{"GET", "/api/v1/watch/pods", nil, "watch pods   "},
		{"GET", "/api/v1/watch/namespaces/d/pods/p", nil, "watch pods d p "},
		{"GET", "/api/v1/namespaces/d/pods/p", nil, "get pods d p "},
		{"GET", "/api/v1/namespaces/d/pods/p/log", nil, "proxy pods d p log"},
		{"PATCH", "/api/v1/namespaces/d/replicationcontrollers/r/scale", nil, "patch replicationcontrollers d r scale"},
		{"POST", "/api/v1/namespaces/d/events", nil, "create events d  "},
		{"DELETE", "/api/v1/namespaces/d/pods", nil, "deletecollection pods d  "},
		{"PUT", "/api/v1/nodes/m1/status", nil, "update nodes  m1 status"},
		{"GET", "/api/v1/namespaces", nil, "list namespaces   "},
		{"GET", "/api/v1/namespaces/d", nil, "get namespaces  d "},
		{"GET", "/api/v1/pods/p", nil, "-"},                    // a namespaced object needs its namespace
		{"GET", "/api/v1/namespaces/d/nodes/m1", nil, "-"},     // nodes have none
		{"GET", "/api/v1/namespaces/d/pods/p/exec", nil, "-"},  // not served
		{"GET", "/api/v1/namespaces/d/widgets", nil, "-"},      // unknown
		{"GET", "/api/v1//pods", nil, "-"},                     // empty segment
		{"GET", "/api/v1beta1/pods", nil, "-"},                 // not v1
		{"GET", "/api/v1/namespaces/d/pods/p/log/x", nil, "-"}, // too deep
		{"GET", "/api/v1/namespaces/d/namespaces/x", nil, "-"}, // namespaces are not in one
		{"GET", "/api/v1/namespaces/d/services/s/status", nil, "get services d s status"},
	}
	for _, c := range cases {
		req, ok := ParseRequest(c.method, c.path, c.query)
		got := "-"
		if ok {
			got = strings.Join([]string{req.Verb, req.Resource, req.Namespace, req.Name, req.Subresource}, " ")
		}
		if got != c.want {
			t.Errorf("%s %s %v: %q, want %q", c.method, c.path, c.query, got, c.want)
		}
	}
}

func TestWantAs(t *testing.T) {
	cases := map[string]as{
		"":                 asObject,
		"application/json": asObject,
		"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json": asTable,
		"application/json;as=Table;v=v2;g=meta.k8s.io,application/json":                                                   asObject,
		"application/vnd.kubernetes.protobuf,application/json":                                                            asObject,
		"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io":                                                asMetadata,
	}
	for accept, want := range cases {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept", accept)
		if got := wantAs(r); got != want {
			t.Errorf("%q: %v, want %v", accept, got, want)
		}
	}
	_ = metav1.Table{}
}
