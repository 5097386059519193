package kubelet

import (
	"context"
	"sync/atomic"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/runtime/fake"
	"kubelite/internal/store/memory"
)

// statusWrites is a store with a status write (store.StatusWriter), as
// the API's client is, counting status writes and whole-pod updates.
type statusWrites struct {
	*memory.Store
	statuses, updates atomic.Int64
}

func (s *statusWrites) Update(ctx context.Context, obj api.Object) (api.Object, error) {
	if _, ok := obj.(*api.Pod); ok {
		s.updates.Add(1)
	}
	return s.Store.Update(ctx, obj)
}

func (s *statusWrites) UpdatePodStatus(ctx context.Context, in *api.Pod) (uint64, error) {
	s.statuses.Add(1)
	o, err := s.Store.Get(ctx, api.Pods, in.Namespace, in.ID)
	if err != nil {
		return 0, err
	}
	p := o.(*api.Pod)
	p.CurrentState, p.ResourceVersion = in.CurrentState, in.ResourceVersion
	out, err := s.Store.Update(ctx, p)
	if err != nil {
		return 0, err
	}
	return out.Meta().ResourceVersion, nil
}

// The kubelet writes a pod's status through the store's status write when
// it has one (only the status crosses the wire), a compare-and-swap on the
// version it holds, read again on a conflict; it never sends the whole pod.
func TestPushStatusWritesStatusOnly(t *testing.T) {
	st := &statusWrites{Store: memory.New()}
	k, err := New(Config{NodeName: "m1", HostIP: "127.0.0.1", Store: st, Runtime: fake.New(fake.Options{}), RootDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	o, err := st.Store.Create(ctx, &api.Pod{TypeMeta: api.TypeMeta{ID: "web", Namespace: api.DefaultNamespace}, DesiredState: api.PodState{Host: "m1"}})
	if err != nil {
		t.Fatal(err)
	}
	held := o.(*api.Pod)
	status := api.PodState{Status: api.PodRunning, Host: "m1", HostIP: "127.0.0.1", PodIP: "10.1.0.2"}
	if err := k.pushStatus(ctx, api.Copy(held), status); err != nil {
		t.Fatal(err)
	}
	stored := func() *api.Pod {
		o, err := st.Store.Get(ctx, api.Pods, api.DefaultNamespace, "web")
		if err != nil {
			t.Fatal(err)
		}
		return o.(*api.Pod)
	}
	if got := stored(); got.CurrentState.PodIP != "10.1.0.2" || got.CurrentState.Status != api.PodRunning {
		t.Fatalf("stored status %+v", got.CurrentState)
	}
	if s, u := st.statuses.Load(), st.updates.Load(); s != 1 || u != 0 {
		t.Fatalf("%d status writes and %d pod updates, want 1 and 0", s, u)
	}
	k.mu.Lock()
	w := k.written["default/web"]
	k.mu.Unlock()
	if w != stored().ResourceVersion {
		t.Errorf("the kubelet noted version %d as its own write, stored %d", w, stored().ResourceVersion)
	}
	// From a stale version: a conflict, read again, written.
	status.Message = "again"
	if err := k.pushStatus(ctx, api.Copy(held), status); err != nil {
		t.Fatal(err)
	}
	if got := stored(); got.CurrentState.Message != "again" {
		t.Fatalf("after a conflict: stored message %q", got.CurrentState.Message)
	}
	if s, u := st.statuses.Load(), st.updates.Load(); s != 3 || u != 0 {
		t.Fatalf("%d status writes and %d pod updates, want 3 (one conflict) and 0", s, u)
	}
}
