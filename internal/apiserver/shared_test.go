package apiserver_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// sharedStore offers store.SharedWatcher and store.SharedLister over a
// memory store, so the API server takes its shared paths (encoding cache);
// like store/etcd, it lists the same object for the same key and version.
type sharedStore struct {
	*memory.Store
	objs map[string]api.Object // key@rv -> the one shared copy
}

func (s *sharedStore) share(o api.Object) api.Object {
	k := api.Key(o) + "@" + itoa(o.Meta().ResourceVersion)
	if c, ok := s.objs[k]; ok {
		return c
	}
	s.objs[k] = o
	return o
}

func (s *sharedStore) ListShared(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	objs, rev, err := s.List(ctx, res, opts)
	for i, o := range objs {
		objs[i] = s.share(o)
	}
	return objs, rev, err
}

func (s *sharedStore) WatchShared(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	return s.Watch(ctx, res, opts)
}

// The shared list path (items encoded once and spliced into the list) gives
// exactly the bytes of the plain path, in every API version, and repeatedly
// (from the encoding cache).
func TestSharedListSameBytes(t *testing.T) {
	mem := seeded(t)
	plain := newServer(t, mem, apiserver.Config{}).Handler()
	shared := newServer(t, &sharedStore{Store: mem, objs: map[string]api.Object{}}, apiserver.Config{}).Handler()
	for _, target := range []string{
		"/api/v1beta1/pods", "/api/v1beta1/pods?namespace=", "/api/v1beta2/pods?namespace=",
		"/api/v1beta1/services", "/api/v1beta1/minions", "/api/v1beta2/minions",
		"/api/v1beta1/pods?labels=app%3Dnone", "/api/v1beta1/endpoints",
	} {
		want := do(plain, "GET", target, "")
		for i := 0; i < 2; i++ {
			got := do(shared, "GET", target, "")
			if got.Code != want.Code || got.Body.String() != want.Body.String() {
				t.Errorf("GET %s (%d): got %d %s\nwant %d %s", target, i, got.Code, got.Body, want.Code, want.Body)
			}
			if ct := got.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("GET %s: Content-Type %q", target, ct)
			}
		}
	}
}

// A watch through a shared watcher streams the same frames as a plain one.
func TestSharedWatchSameFrames(t *testing.T) {
	mem := seeded(t)
	_, rev, err := mem.List(context.Background(), api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, mem, testPod("a", "default", map[string]string{"app": "a"}))
	if _, err := mem.Delete(context.Background(), api.Pods, "default", "a"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got [2][]frame
	for i, st := range []store.Store{mem, &sharedStore{Store: mem, objs: map[string]api.Object{}}} {
		for _, ver := range []string{"v1beta1", "v1beta2"} {
			hs := httptest.NewServer(newServer(t, st, apiserver.Config{}).Handler())
			t.Cleanup(hs.Close)
			_, rd := openWatch(t, ctx, hs.URL+"/api/"+ver+"/watch/pods?resourceVersion="+itoa(rev))
			for j := 0; j < 2; j++ {
				got[i] = append(got[i], readFrame(t, rd))
			}
		}
	}
	for j := range got[0] {
		if got[0][j].Type != got[1][j].Type || string(got[0][j].Object) != string(got[1][j].Object) {
			t.Errorf("frame %d: shared %s %s, plain %s %s", j, got[1][j].Type, got[1][j].Object, got[0][j].Type, got[0][j].Object)
		}
	}
	if got[1][0].Type != "ADDED" || got[1][1].Type != "DELETED" {
		t.Errorf("frames %v", got[1])
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
