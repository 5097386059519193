package apiserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

var testVersion = api.ServerVersion{Major: "0", Minor: "6+", GitVersion: "v0.6.2-kubelite-test", GitCommit: "abc", GitTreeState: "clean"}

// fakeTransport answers every proxied request itself, so no test traffic
// leaves the process: 200 with "<host><path>" for known hosts, an error
// otherwise.
type fakeTransport struct{ up map[string]bool }

func (f fakeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.up != nil && !f.up[r.URL.Host] {
		return nil, fmt.Errorf("dial tcp %s: connection refused", r.URL.Host)
	}
	body := r.URL.Host + r.URL.Path
	if r.URL.RawQuery != "" {
		body += "?" + r.URL.RawQuery
	}
	return &http.Response{
		StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"text/plain"}},
		Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r,
	}, nil
}

func mustCreate(t testing.TB, s store.Store, obj api.Object) api.Object {
	t.Helper()
	out, err := s.Create(context.Background(), obj)
	if err != nil {
		t.Fatalf("seed %s: %v", obj.Meta().ID, err)
	}
	return out
}

func testPod(id, ns string, labels map[string]string) *api.Pod {
	return &api.Pod{
		TypeMeta: api.TypeMeta{ID: id, Namespace: ns, Labels: labels},
		DesiredState: api.PodState{Manifest: api.ContainerManifest{Version: "v1beta1", ID: id,
			Containers: []api.Container{{Name: "web", Image: "kubelite/webserver:v1"}}}},
	}
}

// seeded returns a memory store holding a pod "web" (default), a pod
// "other" (namespace other, bound to m1), minion m1, service svc with one
// endpoint.
func seeded(t testing.TB) *memory.Store {
	s := memory.New()
	mustCreate(t, s, testPod("web", "default", map[string]string{"app": "web"}))
	o := testPod("other", "other", map[string]string{"app": "db"})
	o.DesiredState.Host = "m1"
	mustCreate(t, s, o)
	mustCreate(t, s, &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}, HostIP: "10.0.0.1"})
	mustCreate(t, s, &api.Service{TypeMeta: api.TypeMeta{ID: "svc"}, Port: 80, Selector: map[string]string{"app": "web"}})
	mustCreate(t, s, &api.Endpoints{TypeMeta: api.TypeMeta{ID: "svc"}, Endpoints: []string{"10.1.0.5:8080"}})
	mustCreate(t, s, &api.Service{TypeMeta: api.TypeMeta{ID: "empty"}, Port: 81, Selector: map[string]string{"app": "none"}})
	return s
}

func newServer(t testing.TB, s store.Store, cfg apiserver.Config) *apiserver.Server {
	t.Helper()
	cfg.Store = s
	cfg.Version = testVersion
	if cfg.Transport == nil {
		cfg.Transport = fakeTransport{}
	}
	srv, err := apiserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func do(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("Content-Type", "application/json") // as every client of the API sends
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

const podJSON = `{"kind":"Pod","apiVersion":"v1beta1","id":"new","labels":{"app":"new"},
 "desiredState":{"manifest":{"version":"v1beta1","id":"new","containers":[{"name":"c","image":"busybox"}]}}}`

func TestHandlers(t *testing.T) {
	huge := `{"id":"big","labels":{"x":"` + strings.Repeat("a", 3<<20) + `"}}`
	cases := []struct {
		name, method, path, body string
		code                     int
		reason                   api.StatusReason
		contains                 []string // substrings of the body
		items                    int      // for lists: the number of items (-1 = do not check)
	}{
		{name: "api versions", method: "GET", path: "/api", code: 200, contains: []string{`"versions":["v1"]`}},
		{name: "version", method: "GET", path: "/version", code: 200, contains: []string{`"major":"0"`, `"minor":"6+"`, `"gitVersion":"v0.6.2-kubelite-test"`}},
		{name: "v1beta1 version", method: "GET", path: "/api/v1beta1/version", code: 200, contains: []string{`"gitCommit":"abc"`}},
		{name: "v1beta2 version", method: "GET", path: "/api/v1beta2/version", code: 200, contains: []string{`"gitTreeState":"clean"`}},
		{name: "healthz", method: "GET", path: "/healthz", code: 200, contains: []string{"ok"}},
		{name: "healthz wrong verb", method: "POST", path: "/healthz", code: 405, reason: api.ReasonMethodNotAllowed},
		{name: "unknown path", method: "GET", path: "/nope", code: 404, reason: api.ReasonNotFound},
		{name: "unknown version", method: "GET", path: "/api/v1beta3/pods", code: 404, reason: api.ReasonNotFound},
		{name: "unknown resource", method: "GET", path: "/api/v1beta1/frobs", code: 404, reason: api.ReasonNotFound},
		{name: "too deep", method: "GET", path: "/api/v1beta1/pods/web/x", code: 404, reason: api.ReasonNotFound},
		{name: "empty segment", method: "GET", path: "/api/v1beta1/pods//web", code: 404, reason: api.ReasonNotFound},
		{name: "bare version", method: "GET", path: "/api/v1beta1", code: 404, reason: api.ReasonNotFound},

		{name: "list default namespace", method: "GET", path: "/api/v1beta1/pods", code: 200, items: 1, contains: []string{`"kind":"PodList"`, `"id":"web"`}},
		{name: "list trailing slash", method: "GET", path: "/api/v1beta1/pods/", code: 200, items: 1},
		{name: "list other namespace", method: "GET", path: "/api/v1beta1/pods?namespace=other", code: 200, items: 1, contains: []string{`"id":"other"`}},
		{name: "list all namespaces", method: "GET", path: "/api/v1beta1/pods?namespace=", code: 200, items: 2},
		{name: "labels =", method: "GET", path: "/api/v1beta1/pods?namespace=&labels=app%3Dweb", code: 200, items: 1},
		{name: "labels ==", method: "GET", path: "/api/v1beta1/pods?namespace=&labels=app%3D%3Ddb", code: 200, items: 1},
		{name: "labels !=", method: "GET", path: "/api/v1beta1/pods?namespace=&labels=app!%3Dweb", code: 200, items: 1},
		{name: "labels AND", method: "GET", path: "/api/v1beta1/pods?namespace=&labels=app%3Dweb,app%3Ddb", code: 200, items: 0},
		{name: "bad label selector", method: "GET", path: "/api/v1beta1/pods?labels=app", code: 400, reason: api.ReasonBadRequest, contains: []string{"invalid label selector"}},
		{name: "fields unbound", method: "GET", path: "/api/v1beta1/pods?namespace=&fields=DesiredState.Host%3D", code: 200, items: 1, contains: []string{`"id":"web"`}},
		{name: "fields host", method: "GET", path: "/api/v1beta1/pods?namespace=&fields=DesiredState.Host%3Dm1", code: 200, items: 1, contains: []string{`"id":"other"`}},
		{name: "fields unknown field", method: "GET", path: "/api/v1beta1/pods?fields=bogus%3D1", code: 400, reason: api.ReasonBadRequest, contains: []string{"not selectable"}},
		{name: "fields bad syntax", method: "GET", path: "/api/v1beta1/pods?fields=DesiredState.Host", code: 400, reason: api.ReasonBadRequest},
		{name: "rc camelCase", method: "GET", path: "/api/v1beta1/replicationControllers", code: 200, items: 0, contains: []string{`"kind":"ReplicationControllerList"`}},
		{name: "rc lower case", method: "GET", path: "/api/v1beta1/replicationcontrollers", code: 200, items: 0},
		{name: "minions ignore namespace", method: "GET", path: "/api/v1beta1/minions?namespace=whatever", code: 200, items: 1},
		{name: "services", method: "GET", path: "/api/v1beta1/services", code: 200, items: 2},
		{name: "endpoints", method: "GET", path: "/api/v1beta1/endpoints", code: 200, items: 1},
		{name: "events", method: "GET", path: "/api/v1beta1/events", code: 200, items: 0},
		{name: "v1beta2 list", method: "GET", path: "/api/v1beta2/pods", code: 200, items: 1, contains: []string{`"apiVersion":"v1beta2"`}},

		{name: "get one", method: "GET", path: "/api/v1beta1/pods/web", code: 200, contains: []string{`"kind":"Pod"`, `"id":"web"`, `"apiVersion":"v1beta1"`}},
		{name: "get one v1beta2", method: "GET", path: "/api/v1beta2/pods/web", code: 200, contains: []string{`"apiVersion":"v1beta2"`}},
		{name: "get other namespace", method: "GET", path: "/api/v1beta1/pods/other?namespace=other", code: 200},
		{name: "get wrong namespace", method: "GET", path: "/api/v1beta1/pods/other", code: 404, reason: api.ReasonNotFound},
		{name: "get missing", method: "GET", path: "/api/v1beta1/pods/nope", code: 404, reason: api.ReasonNotFound, contains: []string{`"details":{"id":"nope","kind":"Pod"}`}},
		{name: "get minion", method: "GET", path: "/api/v1beta1/minions/m1", code: 200, contains: []string{`"hostIP":"10.0.0.1"`}},

		{name: "create", method: "POST", path: "/api/v1beta1/pods", body: podJSON, code: 201, contains: []string{`"id":"new"`, `"namespace":"default"`, `"resourceVersion":`}},
		{name: "create in namespace", method: "POST", path: "/api/v1beta1/pods?namespace=ns1", body: podJSON, code: 201, contains: []string{`"namespace":"ns1"`}},
		{name: "create lower-case rc path", method: "POST", path: "/api/v1beta1/replicationcontrollers", body: `{"id":"rc1","kind":"ReplicationController"}`, code: 201},
		{name: "create exists", method: "POST", path: "/api/v1beta1/pods", body: `{"id":"web"}`, code: 409, reason: api.ReasonAlreadyExists},
		{name: "create without id (store says invalid)", method: "POST", path: "/api/v1beta1/pods", body: `{}`, code: 422, reason: api.ReasonInvalid, contains: []string{`"causes":[{"reason":"FieldValueRequired"`}},
		{name: "malformed JSON", method: "POST", path: "/api/v1beta1/pods", body: "{\n  \"id\": \"x\",\n  \"labels\": }\n", code: 400, reason: api.ReasonBadRequest, contains: []string{"line 3, column 13", "invalid character '}'"}},
		{name: "wrong JSON type", method: "POST", path: "/api/v1beta1/pods", body: "{\"id\": \"x\",\n\"desiredState\": {\"manifest\": {\"containers\": [{\"cpu\": \"lots\"}]}}}", code: 400, reason: api.ReasonBadRequest, contains: []string{"line 2, column", "cpu"}},
		{name: "wrong JSON type in a container status", method: "POST", path: "/api/v1beta1/pods", body: "{\"id\": \"x\",\n\"currentState\": {\"info\": {\"web\": {\"restartCount\": \"x\"}}}}", code: 400, reason: api.ReasonBadRequest, contains: []string{"malformed Pod JSON: ", "web.restartCount of type int"}},
		{name: "unknown key in a container status", method: "POST", path: "/api/v1beta1/pods", body: `{"id":"x","currentState":{"info":{"web":{"restartcount":1}}}}`, code: 400, reason: api.ReasonBadRequest, contains: []string{"currentState.info.web.restartcount", "did you mean"}},
		{name: "empty body", method: "POST", path: "/api/v1beta1/pods", code: 400, reason: api.ReasonBadRequest, contains: []string{"unexpected end of JSON input"}},
		{name: "trailing garbage", method: "POST", path: "/api/v1beta1/pods", body: `{"id":"x"} {}`, code: 400, reason: api.ReasonBadRequest, contains: []string{"line 1, column 12"}},
		{name: "array body", method: "POST", path: "/api/v1beta1/pods", body: `[1]`, code: 400, reason: api.ReasonBadRequest},
		{name: "kind mismatch", method: "POST", path: "/api/v1beta1/pods", body: `{"kind":"Service","id":"x"}`, code: 400, reason: api.ReasonBadRequest, contains: []string{`kind \"Service\"`}},
		{name: "apiVersion unknown", method: "POST", path: "/api/v1beta1/pods", body: `{"kind":"Pod","apiVersion":"v1","id":"x"}`, code: 400, reason: api.ReasonBadRequest, contains: []string{"apiVersion"}},
		{name: "namespace mismatch", method: "POST", path: "/api/v1beta1/pods?namespace=a", body: `{"id":"x","namespace":"b"}`, code: 400, reason: api.ReasonBadRequest, contains: []string{"namespace"}},
		{name: "body too large", method: "POST", path: "/api/v1beta1/pods", body: huge, code: 413, reason: api.ReasonTooLarge},
		{name: "post to item", method: "POST", path: "/api/v1beta1/pods/web", body: podJSON, code: 405, reason: api.ReasonMethodNotAllowed},

		{name: "update unconditional", method: "PUT", path: "/api/v1beta1/pods/web", body: `{"id":"web","labels":{"app":"v2"}}`, code: 200, contains: []string{`"app":"v2"`}},
		{name: "update id from path", method: "PUT", path: "/api/v1beta1/pods/web", body: `{"labels":{"app":"v3"}}`, code: 200, contains: []string{`"id":"web"`}},
		{name: "update id mismatch", method: "PUT", path: "/api/v1beta1/pods/web", body: `{"id":"other"}`, code: 400, reason: api.ReasonBadRequest, contains: []string{"does not match"}},
		{name: "update stale", method: "PUT", path: "/api/v1beta1/pods/web", body: `{"id":"web","resourceVersion":1000}`, code: 409, reason: api.ReasonConflict},
		{name: "update missing", method: "PUT", path: "/api/v1beta1/pods/nope", body: `{"id":"nope"}`, code: 404, reason: api.ReasonNotFound},
		{name: "update malformed", method: "PUT", path: "/api/v1beta1/pods/web", body: `{"id":`, code: 400, reason: api.ReasonBadRequest, contains: []string{"line 1, column 6"}},
		{name: "update collection", method: "PUT", path: "/api/v1beta1/pods", body: `{}`, code: 405, reason: api.ReasonMethodNotAllowed},

		{name: "delete", method: "DELETE", path: "/api/v1beta1/pods/web", code: 200, contains: []string{`"kind":"Status"`, `"status":"Success"`, `"code":200`}},
		{name: "delete missing", method: "DELETE", path: "/api/v1beta1/pods/nope", code: 404, reason: api.ReasonNotFound},
		{name: "delete collection", method: "DELETE", path: "/api/v1beta1/pods", code: 405, reason: api.ReasonMethodNotAllowed},
		{name: "patch", method: "PATCH", path: "/api/v1beta1/pods/web", body: `{}`, code: 405, reason: api.ReasonMethodNotAllowed},

		{name: "bindings GET", method: "GET", path: "/api/v1beta1/bindings", code: 405, reason: api.ReasonMethodNotAllowed},
		{name: "bindings GET one", method: "GET", path: "/api/v1beta1/bindings/x", code: 405, reason: api.ReasonMethodNotAllowed},
		{name: "bindings DELETE", method: "DELETE", path: "/api/v1beta1/bindings/x", code: 405, reason: api.ReasonMethodNotAllowed},
		{name: "bindings malformed", method: "POST", path: "/api/v1beta1/bindings", body: `{"podID":}`, code: 400, reason: api.ReasonBadRequest},

		{name: "watch bad resourceVersion", method: "GET", path: "/api/v1beta1/watch/pods?resourceVersion=abc", code: 400, reason: api.ReasonBadRequest},
		{name: "watch bad selector", method: "GET", path: "/api/v1beta1/watch/pods?labels=%3D%3D", code: 400, reason: api.ReasonBadRequest},
		{name: "watch bindings", method: "GET", path: "/api/v1beta1/watch/bindings", code: 404, reason: api.ReasonNotFound},
		{name: "watch unknown", method: "GET", path: "/api/v1beta1/watch/frobs", code: 404, reason: api.ReasonNotFound},
		{name: "watch wrong verb", method: "POST", path: "/api/v1beta1/watch/pods", code: 405, reason: api.ReasonMethodNotAllowed},

		{name: "proxy minion", method: "GET", path: "/api/v1beta1/proxy/minions/m1/containerLogs/default/web/c?follow=1", code: 200, contains: []string{"10.0.0.1:10250/containerLogs/default/web/c?follow=1"}},
		{name: "proxy minion root", method: "GET", path: "/api/v1beta1/proxy/minions/m1", code: 200, contains: []string{"10.0.0.1:10250/"}},
		{name: "proxy missing minion", method: "GET", path: "/api/v1beta1/proxy/minions/nope/healthz", code: 404, reason: api.ReasonNotFound},
		// svc's endpoints object is written by hand (no running pod has that IP): not followed.
		{name: "proxy service", method: "GET", path: "/api/v1beta1/proxy/services/svc/index.html", code: 503, reason: api.ReasonUnavailable, contains: []string{"no endpoints on running pods"}},
		{name: "proxy service without endpoints", method: "GET", path: "/api/v1beta1/proxy/services/empty/", code: 503, reason: api.ReasonUnavailable},
		{name: "proxy missing service", method: "GET", path: "/api/v1beta1/proxy/services/nope/", code: 404, reason: api.ReasonNotFound},
		{name: "proxy pods unsupported", method: "GET", path: "/api/v1beta1/proxy/pods/web/", code: 404, reason: api.ReasonNotFound},
		{name: "proxy bare", method: "GET", path: "/api/v1beta1/proxy/", code: 404, reason: api.ReasonNotFound},
		{name: "redirect minion", method: "GET", path: "/api/v1beta1/redirect/minions/m1", code: 307, contains: []string{"http://10.0.0.1:10250/"}},
		{name: "redirect service", method: "GET", path: "/api/v1beta1/redirect/services/svc", code: 503, reason: api.ReasonUnavailable},
		{name: "redirect wrong verb", method: "POST", path: "/api/v1beta1/redirect/services/svc", code: 405, reason: api.ReasonMethodNotAllowed},
		{name: "redirect missing", method: "GET", path: "/api/v1beta1/redirect/minions/nope", code: 404, reason: api.ReasonNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newServer(t, seeded(t), apiserver.Config{}).Handler()
			rec := do(h, tc.method, tc.path, tc.body)
			body := rec.Body.String()
			if rec.Code != tc.code {
				t.Fatalf("%s %s: code %d, want %d; body %s", tc.method, tc.path, rec.Code, tc.code, body)
			}
			for _, c := range tc.contains {
				if !strings.Contains(body+rec.Header().Get("Location"), c) {
					t.Errorf("body %s lacks %q", body, c)
				}
			}
			if tc.code >= 400 {
				var st api.Status
				if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
					t.Fatalf("error body is not JSON: %v: %s", err, body)
				}
				if st.Kind != "Status" || st.Status != "Failure" || st.Code != tc.code || st.Reason != tc.reason || st.Message == "" {
					t.Fatalf("status %+v, want code %d reason %s", st, tc.code, tc.reason)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("content type %q", ct)
				}
			}
			if tc.items > 0 || (tc.code == 200 && strings.Contains(body, `List"`)) {
				var l struct {
					Items []json.RawMessage `json:"items"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
					t.Fatal(err)
				}
				if len(l.Items) != tc.items {
					t.Fatalf("%d items, want %d: %s", len(l.Items), tc.items, body)
				}
			}
		})
	}
}

// A write followed by reads sees what it wrote; the namespace of a created
// object is the request's; a delete removes it.
func TestWriteReadRoundTrip(t *testing.T) {
	s := seeded(t)
	h := newServer(t, s, apiserver.Config{}).Handler()
	rec := do(h, "POST", "/api/v1beta1/pods?namespace=ns1", podJSON)
	if rec.Code != 201 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var created api.Pod
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(context.Background(), api.Pods, "ns1", "new")
	if err != nil {
		t.Fatalf("not stored in ns1: %v", err)
	}
	if got.Meta().ResourceVersion != created.ResourceVersion {
		t.Fatalf("stored rv %d, answered %d", got.Meta().ResourceVersion, created.ResourceVersion)
	}
	// Conditional update with the current version succeeds, then is stale.
	upd := fmt.Sprintf(`{"id":"new","resourceVersion":%d,"labels":{"v":"2"}}`, created.ResourceVersion)
	if rec := do(h, "PUT", "/api/v1beta1/pods/new?namespace=ns1", upd); rec.Code != 200 {
		t.Fatalf("cas update: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "PUT", "/api/v1beta1/pods/new?namespace=ns1", upd); rec.Code != 409 {
		t.Fatalf("stale update: %d %s", rec.Code, rec.Body)
	}
	if rec := do(h, "DELETE", "/api/v1beta1/pods/new?namespace=ns1", ""); rec.Code != 200 {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if _, err := s.Get(context.Background(), api.Pods, "ns1", "new"); !api.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
}

// A store failure that is not a StatusError is a 500 Status (the server's
// fault, not the input's); a timeout is a 504.
type failingStore struct {
	store.Store
	err error
}

func (f failingStore) List(context.Context, api.Resource, store.ListOptions) ([]api.Object, uint64, error) {
	return nil, 0, f.err
}

func TestStoreFailures(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{errors.New("etcdserver: no leader"), 500},
		{fmt.Errorf("list: %w", context.DeadlineExceeded), 504},
	} {
		h := newServer(t, failingStore{Store: memory.New(), err: tc.err}, apiserver.Config{}).Handler()
		rec := do(h, "GET", "/api/v1beta1/pods", "")
		var st api.Status
		_ = json.Unmarshal(rec.Body.Bytes(), &st)
		if rec.Code != tc.code || st.Code != tc.code || !strings.Contains(st.Message, tc.err.Error()) {
			t.Errorf("%v: %d %s", tc.err, rec.Code, rec.Body)
		}
	}
}

// A panic in a handler (here: in the store) is answered with a 500 Status.
type panickingStore struct{ store.Store }

func (panickingStore) Get(context.Context, api.Resource, string, string) (api.Object, error) {
	panic("boom")
}

func TestRecoverMiddleware(t *testing.T) {
	h := newServer(t, panickingStore{memory.New()}, apiserver.Config{}).Handler()
	rec := do(h, "GET", "/api/v1beta1/pods/x", "")
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "handler panicked: boom") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestValidate(t *testing.T) {
	s := seeded(t)
	mustCreate(t, s, &api.Minion{TypeMeta: api.TypeMeta{ID: "m2"}, HostIP: "10.0.0.2", KubeletPort: 10251})
	h := newServer(t, s, apiserver.Config{
		Transport: fakeTransport{up: map[string]bool{"10.0.0.1:10250": true}},
		HealthChecks: map[string]apiserver.HealthCheck{
			"etcd-0":    func(context.Context) error { return nil },
			"scheduler": func(context.Context) error { return errors.New("no heartbeat for 30s") },
		},
	}).Handler()
	rec := do(h, "GET", "/validate", "")
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	var got []apiserver.ComponentStatus
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := []apiserver.ComponentStatus{
		{Component: "etcd-0", Health: "healthy", HealthCode: 0, Msg: "ok"},
		{Component: "scheduler", Health: "unhealthy", HealthCode: 1, Err: "no heartbeat for 30s"},
		{Component: "minion-m1", Health: "healthy", HealthCode: 0, Msg: "ok"}, // the target's body is never reflected
		{Component: "minion-m2", Health: "unhealthy", HealthCode: 1, Err: "reach kubelet http://10.0.0.2:10251: dial tcp 10.0.0.2:10251: connection refused"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A body of unknown length (chunked) is cut off at the limit with a 413.
func TestBodyTooLargeChunked(t *testing.T) {
	h := newServer(t, memory.New(), apiserver.Config{MaxBodyBytes: 1024}).Handler()
	body := `{"id":"x","labels":{"a":"` + strings.Repeat("b", 2048) + `"}}`
	req := httptest.NewRequest("POST", "/api/v1beta1/pods", io.NopCloser(strings.NewReader(body)))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 || !strings.Contains(rec.Body.String(), "larger than 1024 bytes") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	// Just under the limit passes.
	if rec := do(h, "POST", "/api/v1beta1/pods", `{"id":"x"}`); rec.Code != 201 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
