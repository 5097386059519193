package controller

import (
	"sync"

	"kubelite/internal/api"
	"kubelite/internal/fit"
	"kubelite/internal/store"
)

// PodOwners answers "which owners select this pod" for a controller whose
// objects (replication controllers, services) select pods by labels. It
// remembers the labels each pod had when last seen, so a pod whose labels
// change, or that is deleted, still reaches the owners that selected it
// before as well as those that select it now.
type PodOwners struct {
	pods     *store.Informer
	owners   *store.Informer
	selector func(owner api.Object) map[string]string

	mu     sync.Mutex
	labels map[string]map[string]string // pod key -> labels last seen
}

// PodChange is what PodOwners.Changed found for one pod key.
type PodChange struct {
	// Exists: the pod is in the cache now; WasKnown: it was when last seen.
	Exists, WasKnown bool
	// Owners select the pod now or selected it before, each once.
	Owners []OwnerMatch
}

// OwnerMatch is one owner of a changed pod.
type OwnerMatch struct {
	Key string
	// Now: the owner selects the pod's current labels; Before: its labels
	// when last seen.
	Now, Before bool
}

// NewPodOwners returns an index over the pods and owners caches; selector
// returns an owner's label selector (an empty selector selects nothing).
func NewPodOwners(pods, owners *store.Informer, selector func(owner api.Object) map[string]string) *PodOwners {
	return &PodOwners{pods: pods, owners: owners, selector: selector, labels: map[string]map[string]string{}}
}

// NamespaceOf is o's namespace, DefaultNamespace when it names none.
func NamespaceOf(o api.Object) string {
	if ns := o.Meta().Namespace; ns != "" {
		return ns
	}
	return api.DefaultNamespace
}

// Selects reports whether sel, in namespace ownerNS, selects a pod in
// namespace podNS with labels: same namespace and sel a non-empty subset.
func Selects(sel map[string]string, ownerNS, podNS string, labels map[string]string) bool {
	return len(sel) > 0 && ownerNS == podNS && fit.IsSubset(sel, labels)
}

// Changed records the labels of the pod with key as they are in the cache
// now (forgetting the pod when it is gone) and returns the owners that
// select it now or selected it before. Call it from the pods informer's
// onChange; it is safe to call from several goroutines. A caller that keeps
// state derived from WasKnown (the replication manager's expectations) calls
// it under the lock that guards that state, so the two change together.
func (p *PodOwners) Changed(key string) PodChange {
	ns := api.ParseKey(key).NamespaceOrDefault()
	obj, exists := p.pods.Get(key)
	p.mu.Lock()
	old, known := p.labels[key]
	var cur map[string]string
	if exists {
		cur = obj.Meta().Labels
		p.labels[key] = cur
	} else {
		delete(p.labels, key)
	}
	p.mu.Unlock()
	ch := PodChange{Exists: exists, WasKnown: known}
	for _, o := range p.owners.List() {
		sel := p.selector(o)
		ownerNS := api.ParseKey(api.Key(o)).NamespaceOrDefault()
		m := OwnerMatch{
			Key:    api.Key(o),
			Now:    exists && Selects(sel, ownerNS, ns, cur),
			Before: known && Selects(sel, ownerNS, ns, old),
		}
		if m.Now || m.Before {
			ch.Owners = append(ch.Owners, m)
		}
	}
	return ch
}
