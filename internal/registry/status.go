package registry

import (
	"context"
	"fmt"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

var _ store.StatusWriter = (*Registry)(nil)

// UpdatePodStatus implements store.StatusWriter.
func (r *Registry) UpdatePodStatus(ctx context.Context, pod *api.Pod) (uint64, error) {
	out, err := r.WritePodStatus(ctx, pod, nil)
	if err != nil {
		return 0, err
	}
	return out.ResourceVersion, nil
}

// WritePodStatus is UpdatePodStatus with allow, when not nil, asked about
// the stored pod the write replaces (read only) before it is written: an
// error from it is returned and nothing is written. The write is a
// compare-and-swap on that pod's version, so allow judges exactly what is
// replaced (the API server's check that a minion writes only the status
// of pods bound to it). The pod it returns is read only: the registry's
// index of what runs where keeps it.
//
// The stored pod is the informer's when it holds the version asked for
// (no read of etcd, no decode), and what is written shares its desired
// state with it: nothing in it changes, so nothing is copied, defaulted or
// validated again (validation reads no currentState).
func (r *Registry) WritePodStatus(ctx context.Context, pod *api.Pod, allow func(stored *api.Pod) error) (*api.Pod, error) {
	if pod.ID == "" {
		return nil, api.NewInvalid(api.Pods.Kind(), "", []api.StatusCause{{Reason: api.CauseRequired, Field: "id", Message: "required"}})
	}
	ns := store.Namespace(api.Pods, pod.Namespace)
	want := pod.ResourceVersion
	for attempt := 0; ; attempt++ {
		out, err := r.writeStatusOnce(ctx, ns, pod, want, allow)
		if want == 0 && api.IsConflict(err) && attempt < maxCASRetries {
			continue // our own CAS on the version we read lost: read again
		}
		return out, err
	}
}

func (r *Registry) writeStatusOnce(ctx context.Context, ns string, in *api.Pod, want uint64, allow func(*api.Pod) error) (*api.Pod, error) {
	o, err := r.current(ctx, api.Pods, ns, in.ID, want)
	if err != nil {
		return nil, err
	}
	cur, ok := o.(*api.Pod)
	if !ok {
		return nil, fmt.Errorf("write status of pod %s/%s: stored object is a %T", ns, in.ID, o)
	}
	if want != 0 && cur.ResourceVersion != want {
		return nil, api.NewConflict(api.Pods.Kind(), in.ID, fmt.Sprintf("resourceVersion %d is stale (now %d)", want, cur.ResourceVersion))
	}
	if allow != nil {
		if err := allow(cur); err != nil {
			return nil, err
		}
	}
	p := *cur // shallow: only currentState (and the version written) differ
	p.CurrentState = in.CurrentState
	out, err := r.updateRaw(ctx, &p) // a compare-and-swap on cur's version
	if err != nil {
		return nil, err
	}
	op := out.(*api.Pod)
	r.index.observeOwned(op) // returned read only (WritePodStatus)
	return op, nil
}
