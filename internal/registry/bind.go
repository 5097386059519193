package registry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/fit"
	"kubelite/internal/store"
)

// refusal is a bind the registry refused on purpose (already bound, does not
// fit): a 409 that retrying cannot fix.
type refusal struct{ err *api.StatusError }

func (r *refusal) Error() string { return r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func errBound(err error) bool {
	var r *refusal
	return errors.As(err, &r)
}

func alreadyBound(p *api.Pod, host string) error {
	e := api.NewConflict("Pod", p.ID, "")
	e.Status.Message = fmt.Sprintf("pod %q is already bound to minion %q: a pod is bound once", p.ID, host)
	return &refusal{e}
}

func doesNotFit(p *api.Pod, host string, reasons []string) error {
	e := api.NewConflict("Pod", p.ID, "")
	e.Status.Message = fmt.Sprintf("pod %q does not fit on minion %q: %s", p.ID, host, strings.Join(reasons, ", "))
	for _, r := range reasons {
		e.Status.Details.Causes = append(e.Status.Details.Causes, api.StatusCause{Reason: "Unfit", Field: "host", Message: r})
	}
	return &refusal{e}
}

func (r *Registry) waitSynced(ctx context.Context) error {
	select {
	case <-r.synced:
		return nil
	default:
	}
	t := time.NewTimer(r.wait)
	defer t.Stop()
	select {
	case <-r.synced:
		return nil
	case <-ctx.Done():
		return api.NewUnavailable("binding: " + ctx.Err().Error())
	case <-t.C:
		return api.NewUnavailable("binding: the registry has not loaded pods and minions yet; retry")
	}
}

func (r *Registry) lockHost(host string) func() {
	r.hostMu.Lock()
	l := r.hostLks[host]
	if l == nil {
		l = &sync.Mutex{}
		r.hostLks[host] = l
	}
	r.hostMu.Unlock()
	l.Lock()
	return l.Unlock
}

// minion returns the minion named host (cache first), or 422 if there is none.
func (r *Registry) minion(ctx context.Context, host, podID string) (*api.Minion, error) {
	if o, ok := r.minions.Get(host); ok {
		return o.(*api.Minion), nil
	}
	o, err := r.raw.Get(ctx, api.Minions, "", host)
	if api.IsNotFound(err) {
		return nil, api.NewInvalid("Binding", podID, []api.StatusCause{{Reason: api.CauseNotSupported, Field: "host",
			Message: fmt.Sprintf("minion %q does not exist", host)}})
	}
	if err != nil {
		return nil, err
	}
	return o.(*api.Minion), nil
}

// Bind sets the pod's desiredState.host by compare-and-swap; see the package doc.
func (r *Registry) Bind(ctx context.Context, in *api.Binding) (api.Object, error) {
	b := *in
	b.Namespace = store.Namespace(api.Pods, b.Namespace)
	api.SetKind(&b)
	if err := api.ValidationError(&b, api.Validate(&b)); err != nil {
		return nil, err
	}
	if err := r.waitSynced(ctx); err != nil {
		return nil, err
	}
	unlock := r.lockHost(b.Host)
	defer unlock()
	m, err := r.minion(ctx, b.Host, b.PodID)
	if err != nil {
		return nil, err
	}
	key := b.Namespace + "/" + b.PodID
	for attempt := 0; ; attempt++ {
		var pod *api.Pod
		fromCache := false
		if cached, ok := r.pods.Get(key); ok && attempt == 0 {
			cp := *cached.(*api.Pod) // shallow: only DesiredState.Host (a value) changes
			pod, fromCache = &cp, true
		} else {
			o, err := r.raw.Get(ctx, api.Pods, b.Namespace, b.PodID)
			if err != nil {
				return nil, err
			}
			pod = o.(*api.Pod)
		}
		if h := pod.DesiredState.Host; h != "" {
			if fromCache {
				continue // refuse only on a fresh read
			}
			return nil, alreadyBound(pod, h)
		}
		if reasons := r.index.check(pod, m); len(reasons) > 0 {
			if fromCache {
				continue // the cache may be behind (the pod may be bound already)
			}
			return nil, doesNotFit(pod, b.Host, reasons)
		}
		pod.DesiredState.Host = b.Host
		out, err := r.updateRaw(ctx, pod) // pod is the registry's (a shallow copy or a fresh read)
		if (api.IsConflict(err) || api.IsNotFound(err)) && attempt < maxCASRetries {
			continue // the cache was stale, or the pod changed: read it again
		}
		if err != nil {
			return nil, err
		}
		r.index.observeOwned(out.(*api.Pod)) // the registry's; the caller gets b
		b.ResourceVersion = out.Meta().ResourceVersion
		return &b, nil
	}
}

// createBound creates a pod that names its host, checked as a bind is.
func (r *Registry) createBound(ctx context.Context, p *api.Pod) (api.Object, error) {
	return r.writeBound(ctx, p, r.raw.Create)
}

// updateBound writes an update that binds an unbound pod (p carries the
// resourceVersion it was read at), checked as a bind is.
func (r *Registry) updateBound(ctx context.Context, p *api.Pod) (api.Object, error) {
	return r.writeBound(ctx, p, r.raw.Update)
}

// writeBound writes a pod that names its host with write, under the host's
// lock, after the same fit checks as a bind, and accounts it at once.
func (r *Registry) writeBound(ctx context.Context, p *api.Pod, write func(context.Context, api.Object) (api.Object, error)) (api.Object, error) {
	if err := r.waitSynced(ctx); err != nil {
		return nil, err
	}
	unlock := r.lockHost(p.DesiredState.Host)
	defer unlock()
	m, err := r.minion(ctx, p.DesiredState.Host, p.ID)
	if err != nil {
		return nil, err
	}
	if reasons := r.index.check(p, m); len(reasons) > 0 {
		return nil, doesNotFit(p, p.DesiredState.Host, reasons)
	}
	out, err := write(ctx, p)
	if err != nil {
		return nil, err
	}
	r.index.observe(out.(*api.Pod))
	return out, nil
}

// onPod is the pod informer's change callback.
func (r *Registry) onPod(key string) {
	if o, ok := r.pods.Get(key); ok {
		// The informer's object is read only by contract and shared with
		// the store's decoded cache: accounted as it is, without a copy.
		r.index.set(key, o.(*api.Pod), o.Meta().ResourceVersion)
		return
	}
	r.index.drop(key)
}

// podIndex accounts the pods bound to each minion (fit.Node per host).
type podIndex struct {
	mu    sync.Mutex
	now   func() time.Time
	pods  map[string]indexEntry
	nodes map[string]*fit.Node
	gone  []string // keys the informer saw deleted, oldest first (tombstones to purge)
}

type indexEntry struct {
	rv   uint64
	pod  *api.Pod  // nil: deleted at rv
	gone time.Time // when the informer saw it deleted (a tombstone), else zero
}

// tombstoneTTL is how long a pod the informer saw deleted is remembered:
// long enough for any write that committed before the delete to have been
// accounted (a bind in flight), so that its late accounting is ignored.
const tombstoneTTL = 2 * time.Minute

func newPodIndex(now func() time.Time) *podIndex {
	return &podIndex{now: now, pods: map[string]indexEntry{}, nodes: map[string]*fit.Node{}}
}

// observe accounts a pod the registry just wrote: a footprint of it, since
// the written object is its caller's to mutate.
func (x *podIndex) observe(p *api.Pod) { x.set(api.Key(p), footprint(p), p.ResourceVersion) }

// observeOwned accounts a pod the registry just wrote and no one mutates
// (a bind's, a status write's: read only once written), as it is: a
// footprint of each was two of the three copies a pod cost the index.
func (x *podIndex) observeOwned(p *api.Pod) { x.set(api.Key(p), p, p.ResourceVersion) }

// forget accounts a pod the registry just deleted at revision rv.
func (x *podIndex) forget(key string, rv uint64) { x.set(key, nil, rv) }

// footprint copies what the fit predicates read of a pod (host, phase,
// labels, containers' cpu, memory and ports), so the index never shares an
// object a caller may mutate, without a JSON round trip.
func footprint(p *api.Pod) *api.Pod {
	fp := &api.Pod{}
	fp.ID, fp.Namespace = p.ID, p.Namespace
	if len(p.Labels) > 0 {
		fp.Labels = make(map[string]string, len(p.Labels))
		for k, v := range p.Labels {
			fp.Labels[k] = v
		}
	}
	fp.DesiredState.Host = p.DesiredState.Host
	fp.CurrentState.Phase = p.CurrentState.Phase
	cs := p.DesiredState.Manifest.Containers
	fp.DesiredState.Manifest.Containers = make([]api.Container, len(cs))
	for i, c := range cs {
		fc := &fp.DesiredState.Manifest.Containers[i]
		fc.CPU, fc.Memory = c.CPU, c.Memory
		fc.Ports = append([]api.Port(nil), c.Ports...)
	}
	return fp
}

// set replaces what is accounted for key, unless it is older than that. p
// is kept as it is: a read-only object (the informer's) or a footprint.
func (x *podIndex) set(key string, p *api.Pod, rv uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, ok := x.pods[key]
	if ok && rv < old.rv {
		return // an informer update older than a write we accounted
	}
	if ok && !old.gone.IsZero() && rv <= old.rv {
		return // a write that committed before the delete the informer saw
	}
	if ok && old.pod != nil && old.pod.DesiredState.Host != "" {
		if n := x.nodes[old.pod.DesiredState.Host]; n != nil {
			n.Remove(old.pod)
		}
	}
	if p != nil && p.DesiredState.Host != "" {
		n := x.nodes[p.DesiredState.Host]
		if n == nil {
			n = fit.NewNode(nil)
			x.nodes[p.DesiredState.Host] = n
		}
		n.Add(p)
	}
	x.pods[key] = indexEntry{rv: rv, pod: p}
}

// drop unaccounts key (the informer saw it deleted) and keeps a tombstone
// at its last revision for tombstoneTTL: a bind that committed before the
// delete may account its pod after the informer saw the delete (the bind
// and the watch race), which would hold its ports and resources for ever.
func (x *podIndex) drop(key string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	old, ok := x.pods[key]
	if !ok {
		return
	}
	if old.pod != nil && old.pod.DesiredState.Host != "" {
		if n := x.nodes[old.pod.DesiredState.Host]; n != nil {
			n.Remove(old.pod)
		}
	}
	now := x.now()
	x.pods[key] = indexEntry{rv: old.rv, gone: now}
	x.gone = append(x.gone, key)
	for len(x.gone) > 0 {
		e, ok := x.pods[x.gone[0]]
		if ok && !e.gone.IsZero() && now.Sub(e.gone) < tombstoneTTL {
			break
		}
		if ok && !e.gone.IsZero() {
			delete(x.pods, x.gone[0])
		}
		x.gone = x.gone[1:]
	}
}

// check runs the fit predicates for p on minion m against the accounted pods.
func (x *podIndex) check(p *api.Pod, m *api.Minion) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := x.nodes[m.ID]
	if n == nil {
		return fit.NewNode(m).Check(p)
	}
	n.Minion = m
	defer func() { n.Minion = nil }()
	return n.Check(p)
}

// podsOn returns how many pods are accounted on host (for tests and metrics).
func (x *podIndex) podsOn(host string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	if n := x.nodes[host]; n != nil {
		return n.Pods
	}
	return 0
}
