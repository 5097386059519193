package kubelet

import (
	"context"
	"fmt"
	"reflect"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// pushStatus writes the pod's currentState when it changed, by
// compare-and-swap on the cached version, re-reading on conflict.
func (k *Kubelet) pushStatus(ctx context.Context, pod *api.Pod, status api.PodState) error {
	if reflect.DeepEqual(normalizeState(pod.CurrentState), normalizeState(status)) {
		return nil
	}
	for try := 0; try < 5; try++ {
		rv, err := k.writeStatus(ctx, pod, status)
		if err == nil {
			k.mu.Lock()
			k.written[api.Key(pod)] = rv
			k.mu.Unlock()
			return nil
		}
		if api.IsNotFound(err) {
			return nil // deleted meanwhile; the watch will tell
		}
		if !api.IsConflict(err) {
			return fmt.Errorf("update status of %s: %w", api.Key(pod), err)
		}
		o, err := k.cfg.Store.Get(ctx, api.Pods, pod.Namespace, pod.ID)
		if err != nil {
			if api.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("update status of %s: %w", api.Key(pod), err)
		}
		fresh, ok := o.(*api.Pod)
		if !ok || fresh.UID != pod.UID || fresh.DesiredState.Host != k.cfg.NodeName {
			return nil // replaced or moved
		}
		if reflect.DeepEqual(normalizeState(fresh.CurrentState), normalizeState(status)) {
			return nil // our cache was behind; the store already says so
		}
		pod = fresh
	}
	return fmt.Errorf("update status of %s: too many conflicts", api.Key(pod))
}

// writeStatus writes status as pod's currentState, a compare-and-swap on
// pod's version: through the store's status write where it has one (only
// the status crosses the wire, and only the new version comes back), else
// as an update of the whole pod. It returns the version written.
func (k *Kubelet) writeStatus(ctx context.Context, pod *api.Pod, status api.PodState) (uint64, error) {
	if sw, ok := k.cfg.Store.(store.StatusWriter); ok {
		in := &api.Pod{TypeMeta: api.TypeMeta{ID: pod.ID, Namespace: pod.Namespace, ResourceVersion: pod.ResourceVersion}, CurrentState: status}
		return sw.UpdatePodStatus(ctx, in)
	}
	pod.CurrentState = status
	out, err := k.cfg.Store.Update(ctx, pod)
	if err != nil {
		return 0, err
	}
	return out.Meta().ResourceVersion, nil
}

// normalizeState drops what a JSON round trip changes (time zones, an
// empty info, the order of one built out of name order).
func normalizeState(s api.PodState) api.PodState {
	s.Manifest = api.ContainerManifest{}
	if len(s.Info) == 0 {
		s.Info = nil
		return s
	}
	info := make(api.PodInfo, 0, len(s.Info))
	for _, e := range s.Info {
		st := e.ContainerStatus
		if st.State.Running != nil {
			r := *st.State.Running
			r.StartedAt = r.StartedAt.UTC().Round(0)
			st.State.Running = &r
		}
		if st.State.Termination != nil {
			t := *st.State.Termination
			t.StartedAt, t.FinishedAt = t.StartedAt.UTC().Round(0), t.FinishedAt.UTC().Round(0)
			st.State.Termination = &t
		}
		info.Set(e.Name, st)
	}
	s.Info = info
	return s
}
