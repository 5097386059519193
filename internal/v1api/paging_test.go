package v1api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/pager"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/v1api"
)

// pagingServer is the v1 handler alone over a memory store, with a fake
// clock (snapshots expire by it).
type pagingServer struct {
	t     testing.TB
	store store.Store
	clock *clock.Fake
	srv   *httptest.Server
}

func newPagingServer(t testing.TB) *pagingServer {
	t.Helper()
	st := memory.New()
	fc := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	h, err := v1api.New(v1api.Config{Store: st, Now: fc.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &pagingServer{t: t, store: st, clock: fc, srv: srv}
}

func (p *pagingServer) pod(ns, name string, labels map[string]string) {
	p.t.Helper()
	if _, err := p.store.Create(context.Background(), &api.Pod{
		TypeMeta:     api.TypeMeta{ID: name, Namespace: ns, Labels: labels},
		DesiredState: api.PodState{Manifest: api.ContainerManifest{Containers: []api.Container{{Name: "c", Image: "busybox"}}}},
	}); err != nil {
		p.t.Fatal(err)
	}
}

// get answers the code and the decoded body of a GET.
func (p *pagingServer) get(path string, hdr ...string) (int, map[string]any) {
	p.t.Helper()
	req, _ := http.NewRequest("GET", p.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := p.srv.Client().Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		p.t.Fatalf("GET %s: %d %v: %s", path, resp.StatusCode, err, b)
	}
	return resp.StatusCode, out
}

type pageOf struct {
	names     []string
	rv, cont  string
	remaining any
}

func (p *pagingServer) page(path string) pageOf {
	p.t.Helper()
	code, body := p.get(path)
	if code != 200 {
		p.t.Fatalf("GET %s: %d %v", path, code, body)
	}
	md := body["metadata"].(map[string]any)
	out := pageOf{rv: fmt.Sprint(md["resourceVersion"]), remaining: md["remainingItemCount"]}
	if c, ok := md["continue"].(string); ok {
		out.cont = c
	}
	for _, it := range body["items"].([]any) {
		m := it.(map[string]any)["metadata"].(map[string]any)
		name := fmt.Sprint(m["namespace"], "/", m["name"])
		if l, ok := m["labels"].(map[string]any); ok && l["v"] != nil {
			name += "@" + l["v"].(string)
		}
		out.names = append(out.names, name)
	}
	return out
}

// Every page of a list comes from the revision of its first page: what is
// created, changed or deleted between pages shows in none of them.
func TestListPagingIsOneSnapshot(t *testing.T) {
	p := newPagingServer(t)
	for i := 0; i < 7; i++ {
		p.pod("default", fmt.Sprintf("p%d", i), map[string]string{"v": "1", "app": "x"})
	}
	p.pod("other", "o1", map[string]string{"v": "1"})
	p.pod("other", "o2", map[string]string{"v": "1", "app": "x"})

	first := p.page("/api/v1/pods?limit=3")
	if first.cont == "" || fmt.Sprint(first.remaining) != "6" {
		t.Fatalf("first page: %+v", first)
	}
	// Between pages: a new pod, a deleted one, a changed one.
	ctx := context.Background()
	p.pod("default", "p00", nil)
	if _, err := p.store.Delete(ctx, api.Pods, "default", "p6"); err != nil {
		t.Fatal(err)
	}
	obj, err := p.store.Get(ctx, api.Pods, "default", "p5")
	if err != nil {
		t.Fatal(err)
	}
	obj.Meta().Labels["v"] = "2"
	if _, err := p.store.Update(ctx, obj); err != nil {
		t.Fatal(err)
	}
	got := append([]string{}, first.names...)
	pages := 1
	for cont := first.cont; cont != ""; pages++ {
		pg := p.page("/api/v1/pods?limit=3&continue=" + cont)
		if pg.rv != first.rv {
			t.Fatalf("page %d at resourceVersion %s, the first at %s", pages+1, pg.rv, first.rv)
		}
		got, cont = append(got, pg.names...), pg.cont
	}
	want := "default/p0@1 default/p1@1 default/p2@1 default/p3@1 default/p4@1 default/p5@1 default/p6@1 other/o1@1 other/o2@1"
	if strings.Join(got, " ") != want || pages != 3 {
		t.Fatalf("%d pages: %s\nwant 3: %s", pages, strings.Join(got, " "), want)
	}
	// A fresh list sees today's state.
	if all := p.page("/api/v1/pods"); len(all.names) != 9 || all.cont != "" || all.remaining != nil {
		t.Fatalf("unpaged list: %+v", all)
	}

	for _, tc := range []struct {
		name, path string
		want       []string
	}{
		{"fits in one page", "/api/v1/pods?limit=100", nil},
		{"limit 0 is no limit", "/api/v1/pods?limit=0", nil},
		{"namespaced", "/api/v1/namespaces/other/pods?limit=1", []string{"other/o1@1", "other/o2@1"}},
		{"label selector", "/api/v1/pods?limit=2&labelSelector=app%3Dx,v%3D1", []string{"default/p0@1", "default/p1@1", "default/p2@1", "default/p3@1", "default/p4@1", "other/o2@1"}},
		{"field selector", "/api/v1/pods?limit=1&fieldSelector=metadata.namespace%3Dother", []string{"other/o1@1", "other/o2@1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pg := p.page(tc.path)
			got := pg.names
			for pg.cont != "" {
				pg = p.page(tc.path + "&continue=" + pg.cont)
				got = append(got, pg.names...)
			}
			if tc.want == nil {
				if len(got) != 9 {
					t.Fatalf("%v", got)
				}
				return
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

// kubectl get --chunk-size asks for Tables: their metadata carries continue.
func TestListPagingTables(t *testing.T) {
	p := newPagingServer(t)
	for i := 0; i < 3; i++ {
		p.pod("default", fmt.Sprintf("t%d", i), nil)
	}
	accept := "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
	code, body := p.get("/api/v1/namespaces/default/pods?limit=2", "Accept", accept)
	md := body["metadata"].(map[string]any)
	if code != 200 || body["kind"] != "Table" || len(body["rows"].([]any)) != 2 || md["continue"] == nil {
		t.Fatalf("%d %v", code, body)
	}
	code, body = p.get("/api/v1/namespaces/default/pods?limit=2&continue="+md["continue"].(string), "Accept", accept)
	rows := body["rows"].([]any)
	if code != 200 || len(rows) != 1 || body["metadata"].(map[string]any)["continue"] != nil {
		t.Fatalf("%d %v", code, body)
	}
	if name := rows[0].(map[string]any)["cells"].([]any)[0]; name != "t2" {
		t.Fatalf("last row %v", name)
	}
	// Namespaces (synthetic) page too.
	pg := p.page("/api/v1/namespaces?limit=1")
	if len(pg.names) != 1 || pg.cont == "" {
		t.Fatalf("namespaces: %+v", pg)
	}
}

func token(rv int64, start string) string {
	b, _ := json.Marshal(map[string]any{"v": "meta.k8s.io/v1", "rv": rv, "start": start})
	return base64.RawURLEncoding.EncodeToString(b)
}

// A token whose snapshot is gone is 410 Expired, Kubernetes' Status; a
// token that is not one is 400.
func TestListPagingErrors(t *testing.T) {
	p := newPagingServer(t)
	for i := 0; i < 3; i++ {
		p.pod("default", fmt.Sprintf("e%d", i), map[string]string{"app": "x"})
	}
	first := p.page("/api/v1/pods?limit=1")
	for _, tc := range []struct {
		name, path string
		code       int
		reason     string
		msg        string
	}{
		{"negative limit", "/api/v1/pods?limit=-1", 400, "BadRequest", "invalid limit"},
		{"limit not a number", "/api/v1/pods?limit=ten", 400, "BadRequest", "invalid limit"},
		{"not base64", "/api/v1/pods?continue=%25%25", 400, "BadRequest", "continue key is not valid"},
		{"not json", "/api/v1/pods?continue=" + base64.RawURLEncoding.EncodeToString([]byte("x")), 400, "BadRequest", "continue key is not valid"},
		{"other version", "/api/v1/pods?continue=" + base64.RawURLEncoding.EncodeToString([]byte(`{"v":"x","rv":3}`)), 400, "BadRequest", "encoding version"},
		{"no revision", "/api/v1/pods?continue=" + token(0, "a"), 400, "BadRequest", "resourceVersion"},
		{"with resourceVersion", "/api/v1/pods?resourceVersion=2&continue=" + first.cont, 400, "BadRequest", "not allowed when using continue"},
		{"never listed", "/api/v1/pods?limit=1&continue=" + token(2, "default/e0\x00"), 410, "Expired", "continue parameter is too old"},
		{"another list's token", "/api/v1/pods?limit=1&labelSelector=app%3Dx&continue=" + first.cont, 410, "Expired", "too old"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := p.get(tc.path)
			if code != tc.code || body["kind"] != "Status" || body["reason"] != tc.reason || !strings.Contains(fmt.Sprint(body["message"]), tc.msg) {
				t.Fatalf("%d %v, want %d %s %q", code, body, tc.code, tc.reason, tc.msg)
			}
		})
	}
	// The token is good until its snapshot is SnapshotTTL old.
	p.clock.Step(v1api.SnapshotTTL - time.Second)
	if pg := p.page("/api/v1/pods?limit=1&continue=" + first.cont); len(pg.names) != 1 || pg.rv != first.rv {
		t.Fatalf("before the TTL: %+v", pg)
	}
	p.clock.Step(time.Second)
	if code, body := p.get("/api/v1/pods?limit=1&continue=" + first.cont); code != 410 || body["reason"] != "Expired" {
		t.Fatalf("after the TTL: %d %v", code, body)
	}
}

// client-go's pager walks the pages, and answers an expired token with a
// full list (FullListIfExpired), as it does against Kubernetes.
func TestListPagingClientGoPager(t *testing.T) {
	p := newPagingServer(t)
	for i := 0; i < 7; i++ {
		p.pod("default", fmt.Sprintf("c%d", i), nil)
	}
	var continued atomic.Int32
	cfg := &rest.Config{Host: p.srv.URL, WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Query().Get("continue") != "" {
				continued.Add(1)
			}
			return rt.RoundTrip(r)
		})
	}}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list := pager.SimplePageFunc(func(opts metav1.ListOptions) (runtime.Object, error) {
		return cs.CoreV1().Pods("").List(ctx, opts)
	})

	walk := func(fn pager.ListPageFunc) ([]string, error) {
		pg := pager.New(fn)
		pg.PageSize = 2
		var names []string
		err := pg.EachListItem(ctx, metav1.ListOptions{}, func(o runtime.Object) error {
			names = append(names, o.(*corev1.Pod).Name)
			return nil
		})
		return names, err
	}
	names, err := walk(list)
	if err != nil || strings.Join(names, ",") != "c0,c1,c2,c3,c4,c5,c6" || continued.Load() != 3 {
		t.Fatalf("pager: %v %v (%d continued pages)", names, err, continued.Load())
	}

	// The clock passes the TTL after the first page: the pager's second
	// page is 410, and pager.List lists again in full (FullListIfExpired).
	calls := 0
	expiring := func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		if calls++; calls == 2 {
			p.clock.Step(v1api.SnapshotTTL)
		}
		return list(ctx, opts)
	}
	pg := pager.New(expiring)
	pg.PageSize = 2
	obj, paged, err := pg.List(ctx, metav1.ListOptions{})
	if err != nil || len(obj.(*corev1.PodList).Items) != 7 || calls != 3 {
		t.Fatalf("pager over an expired token: %T %v paged=%v err=%v after %d calls", obj, obj, paged, err, calls)
	}
	// Without the fallback the 410 is an Expired error.
	pg = pager.New(expiring)
	pg.PageSize, pg.FullListIfExpired, calls = 2, false, 0
	if _, _, err := pg.List(ctx, metav1.ListOptions{}); !apierrors.IsResourceExpired(err) {
		t.Fatalf("want Expired, got %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkListPaging lists 1,000 pods whole, and in pages of 100 (ten
// requests, one snapshot), through HTTP.
func BenchmarkListPaging(b *testing.B) {
	p := newPagingServer(b)
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		if _, err := p.store.Create(ctx, &api.Pod{
			TypeMeta:     api.TypeMeta{ID: fmt.Sprintf("b%04d", i), Namespace: "default", Labels: map[string]string{"app": "b"}},
			DesiredState: api.PodState{Manifest: api.ContainerManifest{Containers: []api.Container{{Name: "c", Image: "busybox"}}}},
		}); err != nil {
			b.Fatal(err)
		}
	}
	get := func(path string) map[string]any {
		resp, err := p.srv.Client().Get(p.srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
			b.Fatalf("%d %v", resp.StatusCode, err)
		}
		return out
	}
	b.Run("whole", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if n := len(get("/api/v1/pods")["items"].([]any)); n != 1000 {
				b.Fatal(n)
			}
		}
	})
	b.Run("pages-of-100", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n, cont := 0, ""
			for {
				out := get("/api/v1/pods?limit=100&continue=" + cont)
				n += len(out["items"].([]any))
				c, _ := out["metadata"].(map[string]any)["continue"].(string)
				if c == "" {
					break
				}
				cont = c
			}
			if n != 1000 {
				b.Fatal(n)
			}
		}
	})
}
