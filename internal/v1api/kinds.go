package v1api

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"kubelite/internal/api"
)

// kind is everything the v1 API knows of one resource: one row per
// resource, walked by the discovery document, the router, the OpenAPI
// document, the tables and the tests (TestKindsTable).
type kind struct {
	name       string // v1 plural, in URLs
	singular   string
	kind       string
	shortNames []string
	namespaced bool
	res        api.Resource // the internal resource; "" for namespaces (synthetic)
	// subresources served besides the object itself, with their kind.
	subresources map[string]subresource

	newV1  func() runtime.Object // decoding target of bodies
	toV1   func(api.Object) runtime.Object
	fromV1 func(in runtime.Object, base api.Object) (api.Object, error)
	// fields are the selectable fields (?fieldSelector=) of a v1 object;
	// storeFields maps those the store can select on to its names.
	fields      func(runtime.Object) fields.Set
	storeFields map[string]string
	// fieldPaths rename the v1beta1 field paths of validation errors to
	// v1's, longest first (prefixes at a . or [ boundary).
	fieldPaths [][2]string
	// columns and row make the server-side Table (kubectl get).
	columns []metav1.TableColumnDefinition
	row     func(obj runtime.Object, c *tableContext) []any
}

type subresource struct {
	group, version, kind string
	verbs                []string
}

// typed adapts typed conversion functions to the table's untyped ones.
func typed[I api.Object, V runtime.Object](to func(I) V, from func(V, I) (I, error)) (func(api.Object) runtime.Object, func(runtime.Object, api.Object) (api.Object, error)) {
	return func(o api.Object) runtime.Object { return to(o.(I)) },
		func(in runtime.Object, base api.Object) (api.Object, error) {
			v, ok := in.(V)
			if !ok {
				return nil, fmt.Errorf("convert %T: not a %T", in, v)
			}
			var b I
			if base != nil {
				b = base.(I)
			}
			return from(v, b)
		}
}

var (
	podTo, podFrom       = typed(PodToV1, PodFromV1)
	rcTo, rcFrom         = typed(RCToV1, RCFromV1)
	svcTo, svcFrom       = typed(ServiceToV1, ServiceFromV1)
	epTo, epFrom         = typed(EndpointsToV1, EndpointsFromV1)
	nodeTo, nodeFrom     = typed(NodeToV1, NodeFromV1)
	eventTo, eventFrom   = typed(EventToV1, EventFromV1)
	statusSub            = subresource{verbs: []string{"get", "patch", "update"}}
	standardVerbs        = []string{"create", "delete", "get", "list", "patch", "update", "watch"}
	readOnlyVerbs        = []string{"get", "list", "watch"}
	scaleSub             = subresource{group: "autoscaling", version: "v1", kind: "Scale", verbs: []string{"get", "patch", "update"}}
	logSub               = subresource{kind: "Pod", verbs: []string{"get"}}
	metaFieldsOnlyStores = map[string]string{"metadata.name": api.FieldName}
)

// kinds is the table. Order is discovery's.
var kinds = []*kind{
	{
		name: "pods", singular: "pod", kind: "Pod", shortNames: []string{"po"}, namespaced: true, res: api.Pods,
		subresources: map[string]subresource{"log": logSub, "status": statusSub},
		newV1:        func() runtime.Object { return &corev1.Pod{} }, toV1: podTo, fromV1: podFrom,
		fields: func(o runtime.Object) fields.Set {
			p := o.(*corev1.Pod)
			phase := string(p.Status.Phase)
			if phase == "" {
				phase = string(corev1.PodPending)
			}
			return withMeta(&p.ObjectMeta, fields.Set{
				"spec.nodeName": p.Spec.NodeName, "spec.restartPolicy": string(p.Spec.RestartPolicy),
				"status.phase": phase, "status.podIP": p.Status.PodIP, "status.hostIP": p.Status.HostIP,
			})
		},
		storeFields: map[string]string{"metadata.name": api.FieldName, "spec.nodeName": api.FieldDesiredStateHost, "status.phase": api.FieldStatusPhase},
		fieldPaths: append([][2]string{
			{"desiredState.manifest", "spec"}, {"desiredState.host", "spec.nodeName"}, {"nodeSelector", "spec.nodeSelector"},
			{"currentState", "status"},
		}, metaPaths...),
		columns: podColumns, row: podRow,
	},
	{
		name: "replicationcontrollers", singular: "replicationcontroller", kind: "ReplicationController", shortNames: []string{"rc"},
		namespaced: true, res: api.ReplicationControllers,
		subresources: map[string]subresource{"scale": scaleSub, "status": statusSub},
		newV1:        func() runtime.Object { return &corev1.ReplicationController{} }, toV1: rcTo, fromV1: rcFrom,
		fields: func(o runtime.Object) fields.Set {
			rc := o.(*corev1.ReplicationController)
			return withMeta(&rc.ObjectMeta, fields.Set{"status.replicas": strconv.Itoa(int(rc.Status.Replicas))})
		},
		storeFields: metaFieldsOnlyStores,
		fieldPaths: append([][2]string{
			{"desiredState.podTemplate.desiredState.manifest", "spec.template.spec"},
			{"desiredState.podTemplate.labels", "spec.template.metadata.labels"},
			{"desiredState.podTemplate.nodeSelector", "spec.template.spec.nodeSelector"},
			{"desiredState.replicaSelector", "spec.selector"}, {"desiredState.replicas", "spec.replicas"},
		}, metaPaths...),
		columns: rcColumns, row: rcRow,
	},
	{
		name: "services", singular: "service", kind: "Service", shortNames: []string{"svc"}, namespaced: true, res: api.Services,
		subresources: map[string]subresource{"status": statusSub},
		newV1:        func() runtime.Object { return &corev1.Service{} }, toV1: svcTo, fromV1: svcFrom,
		fields: func(o runtime.Object) fields.Set {
			s := o.(*corev1.Service)
			return withMeta(&s.ObjectMeta, fields.Set{"spec.clusterIP": s.Spec.ClusterIP, "spec.type": string(s.Spec.Type)})
		},
		storeFields: metaFieldsOnlyStores,
		fieldPaths: append([][2]string{
			{"containerPort", "spec.ports[0].targetPort"}, {"port", "spec.ports[0].port"}, {"protocol", "spec.ports[0].protocol"},
			{"selector", "spec.selector"}, {"portalIP", "spec.clusterIP"}, {"publicIPs", "spec.externalIPs"},
			{"sessionAffinity", "spec.sessionAffinity"},
		}, metaPaths...),
		columns: svcColumns, row: svcRow,
	},
	{
		name: "endpoints", singular: "endpoints", kind: "Endpoints", shortNames: []string{"ep"}, namespaced: true, res: api.EndpointsResource,
		newV1: func() runtime.Object { return &corev1.Endpoints{} }, toV1: epTo, fromV1: epFrom,
		fields: func(o runtime.Object) fields.Set {
			return withMeta(&o.(*corev1.Endpoints).ObjectMeta, fields.Set{})
		},
		storeFields: metaFieldsOnlyStores,
		columns:     epColumns, row: epRow,
	},
	{
		name: "nodes", singular: "node", kind: "Node", shortNames: []string{"no"}, res: api.Minions,
		subresources: map[string]subresource{"status": statusSub},
		newV1:        func() runtime.Object { return &corev1.Node{} }, toV1: nodeTo, fromV1: nodeFrom,
		fields: func(o runtime.Object) fields.Set {
			n := o.(*corev1.Node)
			return withMeta(&n.ObjectMeta, fields.Set{"spec.unschedulable": strconv.FormatBool(n.Spec.Unschedulable)})
		},
		storeFields: metaFieldsOnlyStores,
		columns:     nodeColumns, row: nodeRow,
	},
	{
		name: "events", singular: "event", kind: "Event", shortNames: []string{"ev"}, namespaced: true, res: api.Events,
		newV1: func() runtime.Object { return &corev1.Event{} }, toV1: eventTo, fromV1: eventFrom,
		fields: func(o runtime.Object) fields.Set {
			e := o.(*corev1.Event)
			io := e.InvolvedObject
			return withMeta(&e.ObjectMeta, fields.Set{
				"involvedObject.kind": io.Kind, "involvedObject.namespace": io.Namespace, "involvedObject.name": io.Name,
				"involvedObject.uid": string(io.UID), "involvedObject.apiVersion": io.APIVersion,
				"involvedObject.resourceVersion": io.ResourceVersion, "involvedObject.fieldPath": io.FieldPath,
				"reason": e.Reason, "reportingComponent": e.ReportingController, "source": e.Source.Component, "type": e.Type,
			})
		},
		storeFields: map[string]string{
			"metadata.name": api.FieldName, "involvedObject.kind": api.FieldInvolvedKind,
			"involvedObject.namespace": api.FieldInvolvedNamespace, "involvedObject.name": api.FieldInvolvedName,
		},
		columns: eventColumns, row: eventRow,
	},
	{
		name: "namespaces", singular: "namespace", kind: "Namespace", shortNames: []string{"ns"},
		newV1: func() runtime.Object { return &corev1.Namespace{} },
		fields: func(o runtime.Object) fields.Set {
			n := o.(*corev1.Namespace)
			return withMeta(&n.ObjectMeta, fields.Set{"status.phase": string(n.Status.Phase)})
		},
		columns: nsColumns, row: nsRow,
	},
}

// metaPaths are TypeMeta's fields in v1.
var metaPaths = [][2]string{{"id", "metadata.name"}, {"namespace", "metadata.namespace"}, {"labels", "metadata.labels"}, {"annotations", "metadata.annotations"}}

// v1Field renames a v1beta1 field path to v1's.
func (k *kind) v1Field(f string) string {
	for _, p := range k.fieldPaths {
		if rest, ok := strings.CutPrefix(f, p[0]); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			return p[1] + rest
		}
	}
	return f
}

func withMeta(m *metav1.ObjectMeta, f fields.Set) fields.Set {
	f["metadata.name"] = m.Name
	f["metadata.namespace"] = m.Namespace
	return f
}

// kindByName maps a v1 plural to its row.
var kindByName = func() map[string]*kind {
	m := make(map[string]*kind, len(kinds))
	for _, k := range kinds {
		m[k.name] = k
	}
	return m
}()

// kindOfResource maps an internal resource to its row.
func kindOfResource(res api.Resource) *kind {
	for _, k := range kinds {
		if k.res == res && res != "" {
			return k
		}
	}
	return nil
}

// verbs of a kind, for discovery.
func (k *kind) verbs() []string {
	if k.res == "" {
		return readOnlyVerbs
	}
	return standardVerbs
}

func gvk(k *kind) schema.GroupVersionKind {
	return schema.GroupVersionKind{Version: "v1", Kind: k.kind}
}
