package v1api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

const podJSON = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web","tier":"fe"}},
 "spec":{"containers":[{"name":"web","image":"nginx","ports":[{"containerPort":80}]}]}}`

func TestDiscovery(t *testing.T) {
	c := newCluster(t)
	if got := c.must(200, "GET", "/api", "", ""); !strings.Contains(jsonBody(got["versions"]), `"v1"`) {
		t.Fatalf("/api: %v", got)
	}
	list := c.must(200, "GET", "/api/v1", "", "")
	body := jsonBody(list)
	for _, want := range []string{`"name":"pods"`, `"name":"pods/log"`, `"name":"replicationcontrollers/scale"`, `"group":"autoscaling"`, `"name":"nodes"`, `"name":"namespaces"`, `"shortNames":["rc"]`} {
		if !strings.Contains(body, want) {
			t.Errorf("/api/v1 lacks %s: %s", want, body)
		}
	}
	if got := c.must(200, "GET", "/apis", "", ""); jsonBody(got["groups"]) != "[]\n" {
		t.Fatalf("/apis: %v", got)
	}
	c.must(404, "GET", "/apis/v1beta1", "", "")
	c.must(404, "GET", "/api/v1beta1", "", "") // as before
	c.must(404, "GET", "/api/v1/widgets", "", "")
	c.must(404, "GET", "/api/v1/pods/web", "", "") // a namespaced object needs its namespace
	c.must(200, "GET", "/version", "", "")
}

// One store, two dialects: written in one, read and watched in the other.
func TestOneStoreTwoDialects(t *testing.T) {
	c := newCluster(t)
	created := c.must(201, "POST", "/api/v1/namespaces/default/pods", "application/json", podJSON)
	md := created["metadata"].(map[string]any)
	if md["uid"] == "" || md["resourceVersion"] == "" {
		t.Fatalf("created: %v", created)
	}
	old := c.must(200, "GET", "/api/v1beta1/pods/web", "", "")
	if old["id"] != "web" || old["desiredState"].(map[string]any)["manifest"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] != "nginx" {
		t.Fatalf("v1beta1 read: %v", old)
	}
	c.must(201, "POST", "/api/v1beta1/pods", "application/json",
		`{"id":"old","kind":"Pod","apiVersion":"v1beta1","labels":{"app":"old"},"desiredState":{"manifest":{"version":"v1beta1","id":"old","containers":[{"name":"c","image":"busybox"}]}}}`)
	got := c.must(200, "GET", "/api/v1/namespaces/default/pods/old", "", "")
	if got["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] != "busybox" {
		t.Fatalf("v1 read of a v1beta1 pod: %v", got)
	}
	// A v1 update keeps what v1 cannot say (the manifest id).
	got["metadata"].(map[string]any)["labels"] = map[string]any{"app": "old", "v": "1"}
	c.must(200, "PUT", "/api/v1/namespaces/default/pods/old", "application/json", jsonBody(got))
	old = c.must(200, "GET", "/api/v1beta1/pods/old", "", "")
	if old["labels"].(map[string]any)["v"] != "1" || old["desiredState"].(map[string]any)["manifest"].(map[string]any)["id"] != "old" {
		t.Fatalf("after a v1 update: %v", old)
	}
	// 1 and 2: a list of everything, a list by selectors.
	list := c.must(200, "GET", "/api/v1/pods", "", "")
	if n := len(list["items"].([]any)); n != 2 || list["kind"] != "PodList" {
		t.Fatalf("list: %v", list)
	}
}

func TestSelectors(t *testing.T) {
	c := newCluster(t)
	c.must(201, "POST", "/api/v1/namespaces/default/pods", "application/json", podJSON)
	c.must(201, "POST", "/api/v1/namespaces/default/pods", "application/json", strings.ReplaceAll(strings.ReplaceAll(podJSON, `"web"`, `"db"`), `"fe"`, `"be"`))
	c.must(201, "POST", "/api/v1/namespaces/other/pods", "application/json", strings.ReplaceAll(podJSON, `"name":"web"`, `"name":"x"`))
	c.runPod("default", "web")
	names := func(path string) string {
		l := c.must(200, "GET", path, "", "")
		var out []string
		for _, it := range l["items"].([]any) {
			out = append(out, it.(map[string]any)["metadata"].(map[string]any)["name"].(string))
		}
		return strings.Join(out, ",")
	}
	cases := map[string]string{
		"/api/v1/namespaces/default/pods?labelSelector=tier+in+(fe,xx)":      "web",
		"/api/v1/namespaces/default/pods?labelSelector=tier+notin+(fe)":      "db",
		"/api/v1/namespaces/default/pods?labelSelector=!tier":                "",
		"/api/v1/namespaces/default/pods?labelSelector=app=db":               "db",
		"/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName=m1":     "web",
		"/api/v1/namespaces/default/pods?fieldSelector=status.phase=Pending": "db",
		"/api/v1/namespaces/default/pods?fieldSelector=metadata.name!=web":   "db",
		"/api/v1/pods?fieldSelector=metadata.namespace=other":                "x",
		"/api/v1/namespaces/other/pods":                                      "x",
	}
	for path, want := range cases {
		if got := names(path); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	code, body, _ := c.do("GET", "/api/v1/pods?fieldSelector=spec.bogus=1", "", "")
	if code != 400 || !strings.Contains(body, "field label not supported: spec.bogus") {
		t.Fatalf("unknown field: %d %s", code, body)
	}
	code, body, _ = c.do("GET", "/api/v1/pods?labelSelector=a+in+(", "", "")
	if code != 400 {
		t.Fatalf("bad label selector: %d %s", code, body)
	}
	ns := c.must(200, "GET", "/api/v1/namespaces", "", "")
	if got := jsonBody(ns["items"]); !strings.Contains(got, `"name":"kube-system"`) || !strings.Contains(got, `"name":"other"`) {
		t.Fatalf("namespaces: %s", got)
	}
	c.must(405, "POST", "/api/v1/namespaces", "application/json", `{"metadata":{"name":"x"}}`)
}

// watchLines reads frames from a watch until n arrived.
func watchLines(t *testing.T, c *cluster, path string, n int, hdr ...string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("watch %s: %d", path, resp.StatusCode)
	}
	var out []map[string]any
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for len(out) < n && sc.Scan() {
		var f map[string]any
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			t.Fatalf("frame %q: %v", sc.Text(), err)
		}
		out = append(out, f)
	}
	if len(out) < n {
		t.Fatalf("watch %s: %d frames, want %d: %v", path, len(out), n, sc.Err())
	}
	return out
}

func TestWatch(t *testing.T) {
	c := newCluster(t)
	list := c.must(200, "GET", "/api/v1/namespaces/default/pods", "", "")
	rv := list["metadata"].(map[string]any)["resourceVersion"].(string)
	c.must(201, "POST", "/api/v1/namespaces/default/pods", "application/json", podJSON)
	c.runPod("default", "web")
	frames := watchLines(t, c, "/api/v1/namespaces/default/pods?watch=true&resourceVersion="+rv, 2)
	if frames[0]["type"] != "ADDED" || frames[1]["type"] != "MODIFIED" {
		t.Fatalf("frames: %v", frames)
	}
	if k := frames[0]["object"].(map[string]any)["kind"]; k != "Pod" {
		t.Fatalf("object kind %v", k)
	}
	// Set-based selectors are checked here; initial events, then the bookmark.
	frames = watchLines(t, c, "/api/v1/namespaces/default/pods?watch=1&labelSelector=tier+in+(fe)&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", 2)
	if frames[0]["type"] != "ADDED" || frames[1]["type"] != "BOOKMARK" ||
		!strings.Contains(jsonBody(frames[1]), "k8s.io/initial-events-end") {
		t.Fatalf("watch-list frames: %v", frames)
	}
	// A watch of one pod as a Table (kubectl get -w), with columns first.
	frames = watchLines(t, c, "/api/v1/watch/namespaces/default/pods/web", 1, "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	tbl := frames[0]["object"].(map[string]any)
	if tbl["kind"] != "Table" || len(tbl["columnDefinitions"].([]any)) == 0 {
		t.Fatalf("table frame: %v", frames[0])
	}
	code, body, _ := c.do("GET", "/api/v1/pods?watch=true&resourceVersion=x", "", "")
	if code != 400 {
		t.Fatalf("bad rv: %d %s", code, body)
	}
}

func TestWatchGoneIsExpired(t *testing.T) {
	c := newClusterOn(t, memory.NewWithHistory(5))
	for i := 0; i < 3; i++ {
		c.must(201, "POST", "/api/v1/namespaces/default/pods", "application/json", strings.Replace(podJSON, `"name":"web"`, `"generateName":"w-"`, 1))
	}
	// Compact: the memory store keeps a bounded history; rv 1 is long gone
	// after enough writes.
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if _, err := c.store.Create(ctx, &api.Event{TypeMeta: api.TypeMeta{Namespace: "default", GenerateName: "e-"}, Reason: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	code, body, _ := c.do("GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=1", "", "")
	if code != 410 || !strings.Contains(body, `"reason":"Expired"`) {
		t.Fatalf("compacted: %d %s", code, body)
	}
}

func TestTable(t *testing.T) {
	c := newCluster(t)
	c.must(201, "POST", "/api/v1/namespaces/default/pods", "application/json", podJSON)
	c.runPod("default", "web")
	tbl := c.must(200, "GET", "/api/v1/namespaces/default/pods", "", "")
	_ = tbl
	code, body, _ := c.do("GET", "/api/v1/namespaces/default/pods", "", "", "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	if code != 200 {
		t.Fatal(code, body)
	}
	var table struct {
		Kind    string
		Columns []struct{ Name string } `json:"columnDefinitions"`
		Rows    []struct {
			Cells  []any
			Object map[string]any
		}
	}
	if err := json.Unmarshal([]byte(body), &table); err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, col := range table.Columns {
		cols = append(cols, col.Name)
	}
	if got := strings.Join(cols, ","); !strings.HasPrefix(got, "Name,Ready,Status,Restarts,Age,IP,Node") {
		t.Fatalf("columns %s", got)
	}
	if len(table.Rows) != 1 || jsonBody(table.Rows[0].Cells[:4]) != `["web","1/1","Running","0"]`+"\n" ||
		table.Rows[0].Cells[5] != "10.244.0.7" || table.Rows[0].Cells[6] != "m1" || table.Rows[0].Object["kind"] != "PartialObjectMetadata" {
		t.Fatalf("rows %+v", table.Rows)
	}
	for _, res := range []string{"nodes", "namespaces/default/replicationcontrollers", "namespaces/default/services", "namespaces/default/events", "namespaces/default/endpoints", "namespaces"} {
		code, body, _ := c.do("GET", "/api/v1/"+res, "", "", "Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
		if code != 200 || !strings.Contains(body, `"kind":"Table"`) {
			t.Errorf("%s: %d %s", res, code, body)
		}
	}
}

const rcJSON = `{"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"fe"},
 "spec":{"replicas":2,"selector":{"app":"fe"},"template":{"metadata":{"labels":{"app":"fe"}},
 "spec":{"containers":[{"name":"web","image":"nginx"}]}}}}`

func TestPatchAndScale(t *testing.T) {
	c := newCluster(t)
	c.must(201, "POST", "/api/v1/namespaces/default/pods", "application/json", podJSON)
	p := "/api/v1/namespaces/default/pods/web"
	c.must(200, "PATCH", p, "application/merge-patch+json", `{"metadata":{"labels":{"x":"y"}}}`)
	c.must(200, "PATCH", p, "application/json-patch+json", `[{"op":"add","path":"/metadata/annotations","value":{"a":"b"}}]`)
	// Strategic merge: containers merge by name, so the image changes and
	// the container is not replaced by a bare one.
	got := c.must(200, "PATCH", p, "application/strategic-merge-patch+json", `{"spec":{"containers":[{"name":"web","image":"nginx:2"}]}}`)
	ct := got["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	if ct["image"] != "nginx:2" || ct["ports"] == nil || got["metadata"].(map[string]any)["labels"].(map[string]any)["x"] != "y" ||
		got["metadata"].(map[string]any)["annotations"].(map[string]any)["a"] != "b" {
		t.Fatalf("patched: %v", got)
	}
	c.must(415, "PATCH", p, "application/apply-patch+yaml", `{}`)
	c.must(415, "PATCH", p, "text/plain", `{}`)
	c.must(422, "PATCH", p, "application/json-patch+json", `[{"op":"test","path":"/metadata/name","value":"nope"}]`)
	c.must(400, "PATCH", p, "application/merge-patch+json", `{"metadata":{"name":"other"}}`)

	c.must(201, "POST", "/api/v1/namespaces/default/replicationcontrollers", "application/json", rcJSON)
	sc := c.must(200, "GET", "/api/v1/namespaces/default/replicationcontrollers/fe/scale", "", "")
	if sc["kind"] != "Scale" || sc["spec"].(map[string]any)["replicas"] != 2.0 || sc["status"].(map[string]any)["selector"] != "app=fe" {
		t.Fatalf("scale: %v", sc)
	}
	c.must(200, "PATCH", "/api/v1/namespaces/default/replicationcontrollers/fe/scale", "application/merge-patch+json", `{"spec":{"replicas":5}}`)
	rc, err := c.store.Get(context.Background(), api.ReplicationControllers, "default", "fe")
	if err != nil || rc.(*api.ReplicationController).DesiredState.Replicas != 5 {
		t.Fatalf("after scale: %v %v", rc, err)
	}
	c.must(409, "PUT", "/api/v1/namespaces/default/replicationcontrollers/fe/scale", "application/json", `{"metadata":{"name":"fe","resourceVersion":"1"},"spec":{"replicas":1}}`)
	c.must(422, "PUT", "/api/v1/namespaces/default/replicationcontrollers/fe/scale", "application/json", `{"spec":{"replicas":-1}}`)
}

func TestDeletePropagation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		query    string
		body     string
		keepPods bool
	}{
		{query: "?propagationPolicy=Orphan", keepPods: true},
		{body: `{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}`},
		{body: `{"propagationPolicy":"Foreground"}`},
		{query: "", keepPods: false},
	} {
		c := newCluster(t)
		c.must(201, "POST", "/api/v1/namespaces/default/replicationcontrollers", "application/json", rcJSON)
		for _, n := range []string{"fe-a", "fe-b"} {
			if _, err := c.store.Create(ctx, &api.Pod{TypeMeta: api.TypeMeta{ID: n, Namespace: "default", Labels: map[string]string{"app": "fe"}},
				DesiredState: api.PodState{Manifest: api.ContainerManifest{Containers: []api.Container{{Name: "web", Image: "nginx"}}}}}); err != nil {
				t.Fatal(err)
			}
		}
		c.must(200, "DELETE", "/api/v1/namespaces/default/replicationcontrollers/fe"+tc.query, "application/json", tc.body)
		pods, _, err := c.store.List(ctx, api.Pods, store.ListOptions{Namespace: "default"})
		if err != nil {
			t.Fatal(err)
		}
		if kept := len(pods) == 2; kept != tc.keepPods {
			t.Errorf("%s %s: %d pods left", tc.query, tc.body, len(pods))
		}
	}
	c := newCluster(t)
	c.must(400, "DELETE", "/api/v1/namespaces/default/pods/x?propagationPolicy=Sometimes", "", "")
	c.must(404, "DELETE", "/api/v1/namespaces/default/pods/x", "", "")
	c.must(201, "POST", "/api/v1/namespaces/default/pods", "application/json", podJSON)
	c.must(409, "DELETE", "/api/v1/namespaces/default/pods/web", "application/json", `{"preconditions":{"uid":"not-it"}}`)
	c.must(200, "DELETE", "/api/v1/namespaces/default/pods/web?dryRun=All", "", "")
	c.must(200, "GET", "/api/v1/namespaces/default/pods/web", "", "")
	c.must(200, "DELETE", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb", "", "")
	c.must(404, "GET", "/api/v1/namespaces/default/pods/web", "", "")
}

func TestBodies(t *testing.T) {
	c := newCluster(t)
	// dryRun: checked, answered, not stored.
	c.must(201, "POST", "/api/v1/namespaces/default/pods?dryRun=All", "application/json", podJSON)
	c.must(404, "GET", "/api/v1/namespaces/default/pods/web", "", "")
	code, body, _ := c.do("POST", "/api/v1/namespaces/default/pods?dryRun=All", "application/json", `{"metadata":{"name":"x"},"spec":{"containers":[{"name":"c"}]}}`)
	if code != 422 || !strings.Contains(body, `"field":"spec.containers[0].image"`) || !strings.Contains(body, `spec.containers[0].image: required`) {
		t.Fatalf("invalid, in v1's words: %d %s", code, body)
	}
	c.must(400, "POST", "/api/v1/namespaces/default/pods?dryRun=Some", "application/json", podJSON)
	// fieldValidation.
	unknown := strings.Replace(podJSON, `"image":"nginx"`, `"image":"nginx","imagee":"x"`, 1)
	code, body, _ = c.do("POST", "/api/v1/namespaces/default/pods?fieldValidation=Strict", "application/json", unknown)
	if code != 400 || !strings.Contains(body, `unknown field \"spec.containers[0].imagee\"`) {
		t.Fatalf("strict: %d %s", code, body)
	}
	code, body, hdr := c.do("POST", "/api/v1/namespaces/default/pods", "application/json", unknown)
	if code != 201 || !strings.Contains(hdr.Get("Warning"), "imagee") {
		t.Fatalf("warn: %d %s %v", code, body, hdr)
	}
	c.must(400, "POST", "/api/v1/namespaces/default/pods?fieldValidation=Loose", "application/json", podJSON)
	// YAML (the API's gate takes JSON content types only; the body is
	// sniffed), and the blog's trailing commas.
	c.must(201, "POST", "/api/v1/namespaces/default/services", "application/json", "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 8080}]\n")
	c.must(201, "POST", "/api/v1/namespaces/default/services", "application/json", `{
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "trailing",},
  "spec": {"selector": {"app": "web",}, "ports": [{"port": 81},],},
}`)
	code, body, _ = c.do("POST", "/api/v1/namespaces/default/services", "application/json", "{\n  \"kind\": \u201cService\u201d\n}")
	if code != 400 || !strings.Contains(body, "line 2, column 11") || !strings.Contains(body, "typographic quote") {
		t.Fatalf("curly quotes: %d %s", code, body)
	}
	c.must(400, "POST", "/api/v1/namespaces/default/pods", "application/json", `{"kind":"Service","apiVersion":"v1"}`)
	c.must(400, "POST", "/api/v1/namespaces/default/pods", "application/json", `{"kind":"Pod","apiVersion":"v1beta3"}`)
	c.must(400, "POST", "/api/v1/namespaces/default/pods", "application/json", `[1,2]`)
	c.must(400, "POST", "/api/v1/namespaces/other/pods", "application/json", strings.Replace(podJSON, `"name":"web"`, `"name":"w2","namespace":"default"`, 1))
	c.must(422, "POST", "/api/v1/namespaces/default/services", "application/json", `{"metadata":{"name":"two"},"spec":{"ports":[{"port":1},{"port":2}]}}`)
	c.must(413, "POST", "/api/v1/namespaces/default/pods", "application/json", `{"metadata":{"name":"`+strings.Repeat("x", 4<<20)+`"}}`)
}

func TestLogs(t *testing.T) {
	c := newCluster(t)
	c.must(201, "POST", "/api/v1/namespaces/default/pods", "application/json", podJSON)
	code, body, _ := c.do("GET", "/api/v1/namespaces/default/pods/web/log", "", "")
	if code != 400 || !strings.Contains(body, "not scheduled") {
		t.Fatalf("unscheduled: %d %s", code, body)
	}
	c.runPod("default", "web")
	code, body, _ = c.do("GET", "/api/v1/namespaces/default/pods/web/log?tailLines=3", "", "")
	if code != 200 || !strings.HasPrefix(body, "line 1 of /containerLogs/default/web/web\n") {
		t.Fatalf("log: %d %s", code, body)
	}
	c.must(400, "GET", "/api/v1/namespaces/default/pods/web/log?container=nope", "", "")
	// follow: the fourth line arrives after the stream started.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.srv.URL+"/api/v1/namespaces/default/pods/web/log?follow=true", nil)
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for i := 0; i < 3 && sc.Scan(); i++ {
	}
	close(c.kubelet.release)
	if !sc.Scan() || sc.Text() != "line 4 (followed)" {
		t.Fatalf("followed line: %q %v", sc.Text(), sc.Err())
	}
	if last := c.kubelet.paths[len(c.kubelet.paths)-1]; last != "/containerLogs/default/web/web?follow=true" {
		t.Fatalf("kubelet path %s", last)
	}
}
