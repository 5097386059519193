package kubelet

import (
	"context"
	"fmt"
	"reflect"

	"kubelite/internal/api"
)

// pushStatus writes the pod's currentState when it changed, by
// compare-and-swap on the cached version, re-reading on conflict.
func (k *Kubelet) pushStatus(ctx context.Context, pod *api.Pod, status api.PodState) error {
	if reflect.DeepEqual(normalizeState(pod.CurrentState), normalizeState(status)) {
		return nil
	}
	for try := 0; try < 5; try++ {
		pod.CurrentState = status
		out, err := k.cfg.Store.Update(ctx, pod)
		if err == nil {
			if out != nil {
				k.mu.Lock()
				k.written[api.Key(pod)] = out.Meta().ResourceVersion
				k.mu.Unlock()
			}
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

// normalizeState drops what a JSON round trip changes (time zones, empty maps).
func normalizeState(s api.PodState) api.PodState {
	s.Manifest = api.ContainerManifest{}
	if len(s.Info) == 0 {
		s.Info = nil
		return s
	}
	info := make(api.PodInfo, len(s.Info))
	for n, st := range s.Info {
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
		info[n] = st
	}
	s.Info = info
	return s
}
