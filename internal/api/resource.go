package api

import (
	"encoding/json"
	"fmt"
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

// AllResources lists the stored resources (bindings are not stored).
var AllResources = []Resource{Pods, ReplicationControllers, Services, EndpointsResource, Minions, Events}

type resourceInfo struct {
	kind       string
	namespaced bool
	newObj     func() Object
}

var resources = map[Resource]resourceInfo{
	Pods:                   {"Pod", true, func() Object { return &Pod{} }},
	ReplicationControllers: {"ReplicationController", true, func() Object { return &ReplicationController{} }},
	Services:               {"Service", true, func() Object { return &Service{} }},
	EndpointsResource:      {"Endpoints", true, func() Object { return &Endpoints{} }},
	Minions:                {"Minion", false, func() Object { return &Minion{} }},
	Events:                 {"Event", true, func() Object { return &Event{} }},
	Bindings:               {"Binding", true, func() Object { return &Binding{} }},
}

// ParseResource maps a URL segment (also the tutorial's short and
// lower-case spellings) to a Resource.
func ParseResource(s string) (Resource, error) {
	switch s {
	case "pods", "pod", "po":
		return Pods, nil
	case "replicationControllers", "replicationcontrollers", "replicationController", "replicationcontroller", "rc":
		return ReplicationControllers, nil
	case "services", "service", "se", "svc":
		return Services, nil
	case "endpoints", "ep":
		return EndpointsResource, nil
	case "minions", "minion", "mi", "nodes", "node":
		return Minions, nil
	case "events", "event", "ev":
		return Events, nil
	case "bindings", "binding":
		return Bindings, nil
	}
	return "", fmt.Errorf("unknown resource %q", s)
}

// Valid reports whether r is a known resource.
func (r Resource) Valid() bool { _, ok := resources[r]; return ok }

// Kind returns the kind of object r holds ("Pod" for pods).
func (r Resource) Kind() string { return resources[r].kind }

// Namespaced reports whether objects of r live in a namespace.
func (r Resource) Namespaced() bool { return resources[r].namespaced }

// New returns an empty object of r's type, or nil for an unknown resource.
func New(r Resource) Object {
	info, ok := resources[r]
	if !ok {
		return nil
	}
	return info.newObj()
}

// ResourceOf returns the resource an object belongs to.
func ResourceOf(obj Object) (Resource, error) {
	switch obj.(type) {
	case *Pod:
		return Pods, nil
	case *ReplicationController:
		return ReplicationControllers, nil
	case *Service:
		return Services, nil
	case *Endpoints:
		return EndpointsResource, nil
	case *Minion:
		return Minions, nil
	case *Event:
		return Events, nil
	case *Binding:
		return Bindings, nil
	}
	return "", fmt.Errorf("no resource for %T", obj)
}

// ResourceForKind maps a kind ("Pod", "ReplicationController", ...) to its resource.
func ResourceForKind(kind string) (Resource, bool) {
	for r, info := range resources {
		if info.kind == kind {
			return r, true
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
	meta := TypeMeta{Kind: r.Kind() + "List", APIVersion: APIVersion, ResourceVersion: resourceVersion}
	switch r {
	case Pods:
		l := &PodList{TypeMeta: meta, Items: make([]Pod, 0, len(objs))}
		for _, o := range objs {
			l.Items = append(l.Items, *o.(*Pod))
		}
		return l, nil
	case ReplicationControllers:
		l := &ReplicationControllerList{TypeMeta: meta, Items: make([]ReplicationController, 0, len(objs))}
		for _, o := range objs {
			l.Items = append(l.Items, *o.(*ReplicationController))
		}
		return l, nil
	case Services:
		l := &ServiceList{TypeMeta: meta, Items: make([]Service, 0, len(objs))}
		for _, o := range objs {
			l.Items = append(l.Items, *o.(*Service))
		}
		return l, nil
	case EndpointsResource:
		l := &EndpointsList{TypeMeta: meta, Items: make([]Endpoints, 0, len(objs))}
		for _, o := range objs {
			l.Items = append(l.Items, *o.(*Endpoints))
		}
		return l, nil
	case Minions:
		l := &MinionList{TypeMeta: meta, Items: make([]Minion, 0, len(objs))}
		for _, o := range objs {
			l.Items = append(l.Items, *o.(*Minion))
		}
		return l, nil
	case Events:
		l := &EventList{TypeMeta: meta, Items: make([]Event, 0, len(objs))}
		for _, o := range objs {
			l.Items = append(l.Items, *o.(*Event))
		}
		return l, nil
	}
	return nil, fmt.Errorf("no list for resource %q", r)
}

// ListItems returns the items of a list object built by NewList (or decoded
// from the API) as objects, with the list's resourceVersion.
func ListItems(list Object) ([]Object, uint64, error) {
	var out []Object
	switch l := list.(type) {
	case *PodList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *ReplicationControllerList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *ServiceList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *EndpointsList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *MinionList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *EventList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		return nil, 0, fmt.Errorf("%T is not a list", list)
	}
	return out, list.Meta().ResourceVersion, nil
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
