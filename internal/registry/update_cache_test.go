package registry_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/registry"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// countGets is a raw store that counts its Gets.
type countGets struct {
	store.Store
	gets atomic.Int64
}

func (c *countGets) Get(ctx context.Context, res api.Resource, ns, id string) (api.Object, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, res, ns, id)
}

// withPod runs a registry over a memory store counting its Gets, holding
// minion m1 and pod p (unbound).
func withPod(t *testing.T) (*countGets, *registry.Registry, context.Context) {
	t.Helper()
	raw := &countGets{Store: memory.New()}
	r := start(t, raw, registry.Config{})
	c := ctx(t)
	if _, err := r.Create(c, readyMinion("m1")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(c, pod("p")); err != nil {
		t.Fatal(err)
	}
	return raw, r, c
}

// TestUpdateAtCachedVersionSkipsRead: a status write or heartbeat names the
// version it holds; once the registry's informer holds that version the
// update is one compare-and-swap, without reading the store first. Stale
// versions and deleted objects still fail as before.
func TestUpdateAtCachedVersionSkipsRead(t *testing.T) {
	raw, r, c := withPod(t)
	for _, tc := range []struct {
		name string
		get  func() (api.Object, error)
		edit func(o api.Object, i int)
	}{
		{"pod status", func() (api.Object, error) { return r.Get(c, api.Pods, api.DefaultNamespace, "p") },
			func(o api.Object, i int) { o.(*api.Pod).CurrentState.Message = fmt.Sprint("try ", i) }},
		{"minion heartbeat", func() (api.Object, error) { return r.Get(c, api.Minions, "", "m1") },
			func(o api.Object, i int) {
				o.(*api.Minion).Status.LastHeartbeat = t0.Add(time.Duration(i) * time.Second)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			var last api.Object
			testutil.Eventually(t, 10*time.Second, func() error {
				i++
				o, err := tc.get()
				if err != nil {
					return err
				}
				tc.edit(o, i)
				before := raw.gets.Load()
				out, err := r.Update(c, o)
				if err != nil {
					return err
				}
				last = out
				if n := raw.gets.Load() - before; n != 0 {
					return fmt.Errorf("update at version %d read the store %d times", o.Meta().ResourceVersion, n)
				}
				return nil
			}, "an update at the informer's version without a read")
			// The version just replaced is stale now, whatever the cache holds.
			stale := api.DeepCopy(last)
			stale.Meta().ResourceVersion--
			if _, err := r.Update(c, stale); code(err) != http.StatusConflict {
				t.Fatalf("update at a replaced version: %v, want 409", err)
			}
		})
	}
	// A pod deleted after the informer saw its version: not found, not written.
	o, err := r.Get(c, api.Pods, api.DefaultNamespace, "p")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Delete(c, api.Pods, api.DefaultNamespace, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Update(c, o); code(err) != http.StatusNotFound {
		t.Fatalf("update of a deleted pod: %v, want 404", err)
	}
	if _, err := raw.Store.Get(c, api.Pods, api.DefaultNamespace, "p"); !api.IsNotFound(err) {
		t.Fatalf("the deleted pod was written again: %v", err)
	}
}
