package store

import (
	"context"
	"fmt"
	"strings"

	"kubelite/internal/api"
)

// Store is the object store every component uses. The package doc has the
// contract as a whole; storetest.Run checks it against every implementation.
// Objects returned are the caller's own (mutating them changes nothing
// stored). A namespaced resource's namespace "" means api.DefaultNamespace
// in Get, Update and Delete.
type Store interface {
	// Get returns the object res/namespace/id; a missing one fails with
	// api.IsNotFound.
	Get(ctx context.Context, res api.Resource, namespace, id string) (api.Object, error)
	// List returns the objects of res that pass opts (namespace "" = all)
	// and the store revision they were read at: a Watch from that revision
	// misses nothing and repeats nothing.
	List(ctx context.Context, res api.Resource, opts ListOptions) ([]api.Object, uint64, error)
	// Create stores obj and returns it as stored, with its new
	// ResourceVersion; an id already taken fails with api.IsAlreadyExists.
	Create(ctx context.Context, obj api.Object) (api.Object, error)
	// Update replaces obj. A ResourceVersion other than 0 is a
	// compare-and-swap: a stale one fails with api.IsConflict; 0 updates
	// unconditionally. A missing object fails with api.IsNotFound.
	Update(ctx context.Context, obj api.Object) (api.Object, error)
	// Delete removes res/namespace/id and returns the object as it was; a
	// missing one fails with api.IsNotFound.
	Delete(ctx context.Context, res api.Resource, namespace, id string) (api.Object, error)
	// Watch delivers, in order, every change to objects of res after
	// opts.ResourceVersion (0: from now). An object that starts passing
	// opts arrives as Added, one that stops as Deleted. A revision older
	// than the history kept fails with api.IsGone (the caller lists again).
	// The channel closes when ctx ends or the stream breaks; the caller
	// then watches again from the last revision it saw.
	Watch(ctx context.Context, res api.Resource, opts ListOptions) (<-chan Event, error)
}

// ListOptions narrows a List or Watch.
type ListOptions struct {
	Namespace       string       // "" = every namespace
	Labels          api.Selector // empty = everything
	Fields          api.Selector // empty = everything
	ResourceVersion uint64       // Watch only: deliver changes after this revision; 0 = from now
}

// Matches reports whether obj passes the namespace, label and field filters.
func (o ListOptions) Matches(obj api.Object) bool {
	m := obj.Meta()
	if o.Namespace != "" && m.Namespace != "" && m.Namespace != o.Namespace {
		return false
	}
	if !o.Labels.Empty() && !o.Labels.Matches(m.Labels) {
		return false
	}
	return o.Fields.Empty() || o.Fields.MatchesFields(obj)
}

// EventType is what happened to an object.
type EventType string

// Event types, as in the v1beta1 watch stream.
const (
	Added    EventType = "ADDED"
	Modified EventType = "MODIFIED"
	Deleted  EventType = "DELETED"
	Error    EventType = "ERROR"
)

// Event is one change seen on a watch. For Deleted, Object is the last state
// with the ResourceVersion of the delete. For Error, Object is an *api.Status.
type Event struct {
	Type   EventType
	Object api.Object
	// Key is api.Key(Object) when the watch had it at hand, else empty:
	// a shared watch computes it once for every watcher of a change, so
	// that the informers of one process (and the indexes keyed by what
	// they hand to onChange) hold one string per object, not one each.
	Key string
}

// KeyPrefix is the root of kubelite's keys, as in v0.6.
const KeyPrefix = "/registry/"

// Key returns the storage key of an object, laid out as v0.6 did:
// /registry/pods/<ns>/<id>, /registry/controllers/<ns>/<id>,
// /registry/services/specs/<ns>/<id>, /registry/services/endpoints/<ns>/<id>,
// /registry/minions/<id>, /registry/events/<ns>/<id>.
func Key(res api.Resource, namespace, id string) string {
	return ResourcePrefix(res, namespace) + id
}

// ResourcePrefix returns the key prefix of a resource in a namespace ("" = all):
// its api.Resources row's StoragePath (its name for a resource without one),
// then the namespace for a namespaced resource.
func ResourcePrefix(res api.Resource, namespace string) string {
	info, ok := api.Info(res)
	p := string(res)
	if ok && info.StoragePath != "" {
		p = info.StoragePath
	}
	p = KeyPrefix + p + "/"
	if namespace != "" && (!ok || info.Namespaced) {
		p += namespace + "/"
	}
	return p
}

// ParseKey splits a key into resource, namespace and id.
func ParseKey(key string) (api.Resource, string, string, error) {
	rest, ok := strings.CutPrefix(key, KeyPrefix)
	if !ok {
		return "", "", "", fmt.Errorf("key %q is not under %s", key, KeyPrefix)
	}
	for _, res := range api.AllResources {
		p := strings.TrimPrefix(ResourcePrefix(res, ""), KeyPrefix)
		tail, ok := strings.CutPrefix(rest, p)
		if !ok {
			continue
		}
		if !res.Namespaced() {
			return res, "", tail, nil
		}
		ns, id, ok := strings.Cut(tail, "/")
		if !ok || strings.Contains(id, "/") {
			return "", "", "", fmt.Errorf("key %q: want <namespace>/<id>", key)
		}
		return res, ns, id, nil
	}
	return "", "", "", fmt.Errorf("key %q: unknown resource", key)
}

// Namespace returns the namespace a request for res should use.
func Namespace(res api.Resource, ns string) string {
	if !res.Namespaced() {
		return ""
	}
	if ns == "" {
		return api.DefaultNamespace
	}
	return ns
}

// SharedWatcher is implemented by stores that can deliver a watch whose
// objects are shared with other watchers (decoded once for all of them):
// the same events as Watch, but the objects are read only, never to be
// mutated. The API server uses it to encode each event once for all its
// watchers.
type SharedWatcher interface {
	WatchShared(ctx context.Context, res api.Resource, opts ListOptions) (<-chan Event, error)
}

// SharedLister is implemented by stores that can list without copying: the
// same result as List, but the objects may be shared with the store's cache
// and other callers, read only, never to be mutated.
type SharedLister interface {
	ListShared(ctx context.Context, res api.Resource, opts ListOptions) ([]api.Object, uint64, error)
}
