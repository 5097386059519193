package api

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// Resource is the plural name of a kind of object as it appears in URLs.
type Resource string

// The resources of the v1beta1 API.
const (
	Pods                   Resource = "pods"
	ReplicationControllers Resource = "replicationControllers"
	Services               Resource = "services"
	EndpointsResource      Resource = "endpoints"
	Minions                Resource = "minions"
	Events                 Resource = "events"
	Bindings               Resource = "bindings"
)

// DefaultNamespace is used when a request or object names none.
const DefaultNamespace = "default"

// APIVersion is the version kubelite writes into objects.
const APIVersion = "v1beta1"

// ResourceInfo is what kubelite knows of one resource: one row of
// Resources. Every function of this file reads the table (the resource
// test walks it), so a resource added here is parsed, constructed, listed
// and named everywhere; the v1 API's own row (internal/v1api kinds.go, the
// v1 names, conversion and table columns) is checked against it by its
// test.
type ResourceInfo struct {
	Resource   Resource
	Kind       string
	Namespaced bool
	// Stored is false for bindings (a write that sets a pod's host).
	Stored bool
	// Aliases are the other spellings ParseResource accepts: singular,
	// lower-case and the tutorial's short forms, and v1's plural.
	Aliases []string
	// URLAliases are the words besides Resource that the v1beta1 API's
	// URLs accept (some of Aliases): the apiserver's routes read them.
	URLAliases []string
	// StoragePath is the resource's directory under the store's
	// /registry/ (v0.6's etcd layout: "controllers" for RCs,
	// "services/specs" for services); "" for bindings.
	StoragePath string
	// Columns are the header of `kubelite kubectl get`'s table (v0.6's
	// printer); the v1 API's Table columns are in internal/v1api's row.
	Columns []string
	// New returns an empty object; NewList a list object (PodList, ...)
	// holding objs; Items the items of such a list (false for another type).
	New     func() Object
	NewList func(meta TypeMeta, objs []Object) Object
	Items   func(list Object) ([]Object, bool)
}

// row builds a table row for the object type T and its list type L, whose
// items are items(l).
func row[T any, PT interface {
	*T
	Object
}, L any, PL interface {
	*L
	Object
}](res Resource, kind string, namespaced, stored bool, aliases []string, items func(PL) *[]T) ResourceInfo {
	info := ResourceInfo{
		Resource: res, Kind: kind, Namespaced: namespaced, Stored: stored, Aliases: aliases,
		New: func() Object { return PT(new(T)) },
	}
	if items == nil {
		return info
	}
	info.NewList = func(meta TypeMeta, objs []Object) Object {
		l := PL(new(L))
		*l.Meta() = meta
		out := items(l)
		*out = make([]T, 0, len(objs))
		for _, o := range objs {
			*out = append(*out, *any(o).(PT))
		}
		return l
	}
	info.Items = func(list Object) ([]Object, bool) {
		l, ok := list.(PL)
		if !ok {
			return nil, false
		}
		in := *items(l)
		var out []Object
		for i := range in {
			out = append(out, PT(&in[i]))
		}
		return out, true
	}
	return info
}

func (info ResourceInfo) urls(words ...string) ResourceInfo { info.URLAliases = words; return info }
func (info ResourceInfo) cols(names ...string) ResourceInfo { info.Columns = names; return info }
func (info ResourceInfo) stored(path string) ResourceInfo   { info.StoragePath = path; return info }

// URLResources maps every word the v1beta1 API's URLs accept for a resource
// (Resource and URLAliases of each row) to it.
func URLResources() map[string]Resource {
	m := map[string]Resource{}
	for _, info := range Resources {
		m[string(info.Resource)] = info.Resource
		for _, w := range info.URLAliases {
			m[w] = info.Resource
		}
	}
	return m
}

// Resources is the table: one row per resource, stored ones in
// AllResources' order.
var Resources = []ResourceInfo{
	row[Pod, *Pod, PodList](Pods, "Pod", true, true, []string{"pod", "po"},
		func(l *PodList) *[]Pod { return &l.Items }).cols("NAME", "IMAGE(S)", "HOST", "LABELS", "STATUS").stored("pods"),
	row[ReplicationController, *ReplicationController, ReplicationControllerList](ReplicationControllers, "ReplicationController", true, true,
		[]string{"replicationcontrollers", "replicationController", "replicationcontroller", "rc"},
		func(l *ReplicationControllerList) *[]ReplicationController { return &l.Items }).urls("replicationcontrollers").
		cols("NAME", "IMAGE(S)", "SELECTOR", "REPLICAS").stored("controllers"),
	row[Service, *Service, ServiceList](Services, "Service", true, true, []string{"service", "se", "svc"},
		func(l *ServiceList) *[]Service { return &l.Items }).cols("NAME", "LABELS", "SELECTOR", "IP", "PORT").stored("services/specs"),
	row[Endpoints, *Endpoints, EndpointsList](EndpointsResource, "Endpoints", true, true, []string{"ep"},
		func(l *EndpointsList) *[]Endpoints { return &l.Items }).cols("NAME", "ENDPOINTS").stored("services/endpoints"),
	row[Minion, *Minion, MinionList](Minions, "Minion", false, true, []string{"minion", "mi", "nodes", "node"},
		func(l *MinionList) *[]Minion { return &l.Items }).urls("nodes").cols("NAME", "LABELS", "STATUS").stored("minions"),
	row[Event, *Event, EventList](Events, "Event", true, true, []string{"event", "ev"},
		func(l *EventList) *[]Event { return &l.Items }).
		cols("TIME", "NAME", "KIND", "SUBOBJECT", "REASON", "SOURCE", "MESSAGE").stored("events"),
	row[Binding, *Binding, Binding](Bindings, "Binding", true, false, []string{"binding"}, nil),
}

// AllResources lists the stored resources (bindings are not stored).
var AllResources = func() []Resource {
	var out []Resource
	for _, info := range Resources {
		if info.Stored {
			out = append(out, info.Resource)
		}
	}
	return out
}()

// Info returns r's row of Resources.
func Info(r Resource) (ResourceInfo, bool) {
	for _, info := range Resources {
		if info.Resource == r {
			return info, true
		}
	}
	return ResourceInfo{}, false
}

// ParseResource maps a URL segment (also the tutorial's short and
// lower-case spellings) to a Resource.
func ParseResource(s string) (Resource, error) {
	for _, info := range Resources {
		if string(info.Resource) == s {
			return info.Resource, nil
		}
		for _, a := range info.Aliases {
			if a == s {
				return info.Resource, nil
			}
		}
	}
	return "", fmt.Errorf("unknown resource %q", s)
}

// Valid reports whether r is a known resource.
func (r Resource) Valid() bool { _, ok := Info(r); return ok }

// Kind returns the kind of object r holds ("Pod" for pods).
func (r Resource) Kind() string { info, _ := Info(r); return info.Kind }

// Namespaced reports whether objects of r live in a namespace.
func (r Resource) Namespaced() bool { info, _ := Info(r); return info.Namespaced }

// New returns an empty object of r's type, or nil for an unknown resource.
func New(r Resource) Object {
	info, ok := Info(r)
	if !ok {
		return nil
	}
	return info.New()
}

// ResourceOf returns the resource an object belongs to.
func ResourceOf(obj Object) (Resource, error) {
	if r, ok := byType[reflect.TypeOf(obj)]; ok {
		return r, nil
	}
	return "", fmt.Errorf("no resource for %T", obj)
}

// byType maps each row's object type to its resource (ResourceOf is on the
// encoding path of every object).
var byType = func() map[reflect.Type]Resource {
	m := map[reflect.Type]Resource{}
	for _, info := range Resources {
		m[reflect.TypeOf(info.New())] = info.Resource
	}
	return m
}()

// ResourceForKind maps a kind ("Pod", "ReplicationController", ...) to its resource.
func ResourceForKind(kind string) (Resource, bool) {
	for _, info := range Resources {
		if info.Kind == kind {
			return info.Resource, true
		}
	}
	return "", false
}

// SetKind fills kind and apiVersion from the object's type.
func SetKind(obj Object) {
	r, err := ResourceOf(obj)
	if err != nil {
		return
	}
	m := obj.Meta()
	m.Kind = r.Kind()
	if m.APIVersion == "" {
		m.APIVersion = APIVersion
	}
}

// Decode unmarshals JSON into a new object of resource r.
func Decode(r Resource, data []byte) (Object, error) {
	obj := New(r)
	if obj == nil {
		return nil, fmt.Errorf("unknown resource %q", r)
	}
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", r.Kind(), err)
	}
	return obj, nil
}

// Copy returns a deep copy of obj (see DeepCopy).
func Copy[T Object](obj T) T { return DeepCopy(obj) }

// NewList builds the v1beta1 list object (PodList, ...) holding objs, which
// must all be of resource r.
func NewList(r Resource, objs []Object, resourceVersion uint64) (Object, error) {
	info, ok := Info(r)
	if !ok || info.NewList == nil {
		return nil, fmt.Errorf("no list for resource %q", r)
	}
	for _, o := range objs {
		if got, err := ResourceOf(o); err != nil || got != r {
			return nil, fmt.Errorf("list of %s: item %T", r, o)
		}
	}
	return info.NewList(TypeMeta{Kind: r.Kind() + "List", APIVersion: APIVersion, ResourceVersion: resourceVersion}, objs), nil
}

// ListItems returns the items of a list object built by NewList (or decoded
// from the API) as objects, with the list's resourceVersion.
func ListItems(list Object) ([]Object, uint64, error) {
	for _, info := range Resources {
		if info.Items == nil {
			continue
		}
		if out, ok := info.Items(list); ok {
			return out, list.Meta().ResourceVersion, nil
		}
	}
	return nil, 0, fmt.Errorf("%T is not a list", list)
}

// NewListObject returns an empty list object for r, for decoding into.
func NewListObject(r Resource) (Object, error) { return NewList(r, nil, 0) }

// Key returns "namespace/id" (or "id" for minions), the key caches and queues use.
func Key(obj Object) string {
	m := obj.Meta()
	if m.Namespace == "" {
		return m.ID
	}
	return m.Namespace + "/" + m.ID
}
