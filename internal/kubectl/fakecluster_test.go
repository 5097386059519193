package kubectl

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// fakeCluster plays the replication manager and the kubelets over a store:
// it keeps each RC's pod count at its replicas (creating from the template,
// deleting the surplus), binds new pods to "m1" and sets them Running,
// except pods whose image contains "broken" (they fail) or "slow" (they
// stay Pending). It reacts to watch events, so tests need no sleeps.
type fakeCluster struct {
	s       store.Store
	mu      sync.Mutex
	n       int
	created []string
}

func startFakeCluster(t *testing.T, s store.Store) *fakeCluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fc := &fakeCluster{s: s}
	rcs, err := s.Watch(ctx, api.ReplicationControllers, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := s.Watch(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fc.sync(ctx)
		for {
			select {
			case <-ctx.Done():
				return
			case _, ok := <-rcs:
				if !ok {
					return
				}
			case _, ok := <-pods:
				if !ok {
					return
				}
			}
			fc.sync(ctx)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return fc
}

func (fc *fakeCluster) sync(ctx context.Context) {
	rcs, _, err := fc.s.List(ctx, api.ReplicationControllers, store.ListOptions{})
	if err != nil {
		return
	}
	for _, o := range rcs {
		rc := o.(*api.ReplicationController)
		sel := api.SelectorFromSet(rc.DesiredState.ReplicaSelector)
		objs, _, err := fc.s.List(ctx, api.Pods, store.ListOptions{Namespace: rc.Namespace, Labels: sel})
		if err != nil {
			return
		}
		var live []*api.Pod
		for _, p := range objs {
			p := p.(*api.Pod)
			if active(p) {
				live = append(live, p)
			}
		}
		sort.Slice(live, func(i, j int) bool { return live[i].ID < live[j].ID })
		for i := len(live); i < rc.DesiredState.Replicas; i++ {
			fc.mu.Lock()
			fc.n++
			id := fmt.Sprintf("%s-%05d", rc.ID, fc.n)
			fc.created = append(fc.created, id)
			fc.mu.Unlock()
			p := &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: rc.Namespace, Labels: rc.DesiredState.PodTemplate.Labels}}
			p.DesiredState = rc.DesiredState.PodTemplate.DesiredState
			_, _ = fc.s.Create(ctx, p)
		}
		for i := rc.DesiredState.Replicas; i < len(live); i++ {
			_, _ = fc.s.Delete(ctx, api.Pods, rc.Namespace, live[i].ID)
		}
		if rc.CurrentState.Replicas != len(live) {
			rc.CurrentState.Replicas = len(live)
			_, _ = fc.s.Update(ctx, rc)
		}
	}
	// The kubelet: start what is new.
	objs, _, err := fc.s.List(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		return
	}
	for _, o := range objs {
		p := o.(*api.Pod)
		if p.CurrentState.Phase != "" {
			continue
		}
		img := images(p.DesiredState.Manifest.Containers)
		switch {
		case strings.Contains(img, "slow"):
			p.CurrentState.Phase = api.PodPhasePending
			p.CurrentState.Info = api.PodInfo{{Name: p.DesiredState.Manifest.Containers[0].Name,
				ContainerStatus: api.ContainerStatus{State: api.ContainerState{Waiting: &api.ContainerStateWaiting{Reason: "image " + img + " not present"}}}}}
		case strings.Contains(img, "broken"):
			p.CurrentState.Phase = api.PodPhaseFailed
			p.CurrentState.Message = "container exited with code 127"
		default:
			p.CurrentState.Phase = api.PodPhaseRunning
		}
		p.DesiredState.Host, p.CurrentState.Host, p.CurrentState.HostIP = "m1", "m1", "10.0.0.1"
		_, _ = fc.s.Update(ctx, p)
	}
}

// podImagesNow returns "id=image" of every pod of ns, sorted.
func podImagesNow(t *testing.T, s store.Store) []string {
	t.Helper()
	objs, _, err := s.List(context.Background(), api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		p := o.(*api.Pod)
		out = append(out, p.ID+"="+images(p.DesiredState.Manifest.Containers)+"/"+string(p.CurrentState.Phase))
	}
	sort.Strings(out)
	return out
}
