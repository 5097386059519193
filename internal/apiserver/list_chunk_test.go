package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// A shared list larger than the buffer it is written through (items across
// buffer boundaries, and one item larger than the buffer) gives the plain
// path's bytes, with a Content-Length that is the body's length.
func TestSharedListLargerThanItsBuffer(t *testing.T) {
	mem := memory.New()
	for i := 0; i < 300; i++ {
		p := testPod(fmt.Sprintf("p%03d", i), "default", map[string]string{"app": "big"})
		p.Annotations = map[string]string{"note": strings.Repeat("x", 1000+i)}
		mustCreate(t, mem, p)
	}
	huge := testPod("huge", "default", nil)
	huge.Annotations = map[string]string{"note": strings.Repeat("h", 300<<10)}
	mustCreate(t, mem, huge)
	plain := newServer(t, mem, apiserver.Config{}).Handler()
	shared := newServer(t, &sharedStore{Store: mem, objs: map[string]api.Object{}}, apiserver.Config{}).Handler()
	for _, target := range []string{"/api/v1beta1/pods", "/api/v1beta2/pods?labels=app%3Dbig"} {
		want := do(plain, "GET", target, "")
		got := do(shared, "GET", target, "")
		if got.Code != 200 || got.Body.String() != want.Body.String() {
			t.Errorf("GET %s: got %d, %d bytes; want %d, %d bytes, the same", target, got.Code, got.Body.Len(), want.Code, want.Body.Len())
		}
		if cl := got.Header().Get("Content-Length"); cl != strconv.Itoa(got.Body.Len()) {
			t.Errorf("GET %s: Content-Length %s, body %d bytes", target, cl, got.Body.Len())
		}
	}
}

// fixedLister lists the same shared objects every time, at no cost.
type fixedLister struct {
	*memory.Store
	objs []api.Object
	rev  uint64
}

func (f fixedLister) ListShared(context.Context, api.Resource, store.ListOptions) ([]api.Object, uint64, error) {
	return append([]api.Object(nil), f.objs...), f.rev, nil
}

// discardWriter is a ResponseWriter that keeps nothing of the body.
type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }

// BenchmarkSharedList1000Pods: the server's side of a list of 1,000 pods
// from a shared lister, every item's encoding cached (what a list costs
// besides the store and the network):
//
//	go test -run '^$' -bench SharedList1000Pods -benchmem ./internal/apiserver/
func BenchmarkSharedList1000Pods(b *testing.B) {
	mem := memory.New()
	for i := 0; i < 1000; i++ {
		p := testPod(fmt.Sprintf("pod-%04d", i), "default", map[string]string{"app": "bench"})
		p.Annotations = map[string]string{"note": strings.Repeat("x", 1200)} // about a bench pod's 1.5 KB
		mustCreate(b, mem, p)
	}
	objs, rev, err := mem.List(context.Background(), api.Pods, store.ListOptions{Namespace: "default"})
	if err != nil {
		b.Fatal(err)
	}
	h := newServer(b, fixedLister{Store: mem, objs: objs, rev: rev}, apiserver.Config{}).Handler()
	req := httptest.NewRequest("GET", "/api/v1beta1/pods?namespace=default", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.n = 0
		h.ServeHTTP(w, req)
		if w.n < 1000*1200 {
			b.Fatalf("list of %d bytes", w.n)
		}
	}
}
