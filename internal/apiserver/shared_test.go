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

// sharedStore offers store.SharedWatcher over a memory store, so the API
// server takes its shared path (encoding cache).
type sharedStore struct {
	*memory.Store
}

func (s *sharedStore) WatchShared(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	return s.Watch(ctx, res, opts)
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
	for i, st := range []store.Store{mem, &sharedStore{Store: mem}} {
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
