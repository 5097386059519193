package v1api

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"

	"kubelite/internal/api"
)

// Server-side Tables: what `kubectl get` prints. Columns of priority 1
// appear with -o wide only (kubectl hides them otherwise). The columns are
// those kubectl users know from Kubernetes.

// tableContext is what rows may need beyond their object.
type tableContext struct {
	now time.Time
	// version is the kubelets' version: they run the master's binary.
	version string
	// readyPods counts the ready pods an RC selects (nil: unknown).
	readyPods func(ns string, sel map[string]string) int
}

func col(name, typ, desc string, priority int32) metav1.TableColumnDefinition {
	c := metav1.TableColumnDefinition{Name: name, Type: typ, Description: desc, Priority: priority}
	if name == "Name" {
		c.Format = "name"
	}
	return c
}

const nameDesc = "Name must be unique within a namespace."

var (
	podColumns = []metav1.TableColumnDefinition{
		col("Name", "string", nameDesc, 0),
		col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", 0),
		col("Status", "string", "The aggregate status of the containers in this pod.", 0),
		col("Restarts", "string", "The number of times the containers in this pod have been restarted.", 0),
		col("Age", "string", "Time since the object was created.", 0),
		col("IP", "string", "IP address allocated to the pod.", 1),
		col("Node", "string", "Name of the node the pod is assigned to.", 1),
		col("Nominated Node", "string", "Always <none> in kubelite.", 1),
		col("Readiness Gates", "string", "Always <none> in kubelite.", 1),
	}
	rcColumns = []metav1.TableColumnDefinition{
		col("Name", "string", nameDesc, 0),
		col("Desired", "integer", "Number of desired pods.", 0),
		col("Current", "integer", "Number of actually running pods.", 0),
		col("Ready", "integer", "Number of pods ready.", 0),
		col("Age", "string", "Time since the object was created.", 0),
		col("Containers", "string", "Names of each container in the template.", 1),
		col("Images", "string", "Images referenced by each container in the template.", 1),
		col("Selector", "string", "Label selector for pods.", 1),
	}
	svcColumns = []metav1.TableColumnDefinition{
		col("Name", "string", nameDesc, 0),
		col("Type", "string", "How the service is exposed.", 0),
		col("Cluster-IP", "string", "The portal IP of the service.", 0),
		col("External-IP", "string", "The public IPs of the service.", 0),
		col("Port(s)", "string", "The port the service is exposed on.", 0),
		col("Age", "string", "Time since the object was created.", 0),
		col("Selector", "string", "Pods selected by the service.", 1),
	}
	epColumns = []metav1.TableColumnDefinition{
		col("Name", "string", nameDesc, 0),
		col("Endpoints", "string", "The ip:port pairs behind the service.", 0),
		col("Age", "string", "Time since the object was created.", 0),
	}
	nodeColumns = []metav1.TableColumnDefinition{
		col("Name", "string", nameDesc, 0),
		col("Status", "string", "The status of the node.", 0),
		col("Roles", "string", "The roles of the node.", 0),
		col("Age", "string", "Time since the object was created.", 0),
		col("Version", "string", "Kubelet version.", 0),
		col("Internal-IP", "string", "The node's address.", 1),
		col("External-IP", "string", "Always <none> in kubelite.", 1),
		col("Pod-CIDR", "string", "The pod subnet of the node.", 1),
	}
	eventColumns = []metav1.TableColumnDefinition{
		col("Last Seen", "string", "Time since the event was last seen.", 0),
		col("Type", "string", "Normal or Warning.", 0),
		col("Reason", "string", "Why the event happened.", 0),
		col("Object", "string", "The object the event is about.", 0),
		col("Subobject", "string", "The part of the object (fieldPath).", 1),
		col("Source", "string", "The component that reported it.", 1),
		col("Message", "string", "What happened.", 0),
		col("First Seen", "string", "Time since the event was first seen.", 1),
		col("Count", "integer", "How often it happened.", 1),
		col("Name", "string", nameDesc, 1),
	}
	nsColumns = []metav1.TableColumnDefinition{
		col("Name", "string", nameDesc, 0),
		col("Status", "string", "The status of the namespace.", 0),
		col("Age", "string", "Time since the object was created.", 0),
	}
)

// age is kubectl's AGE: a short human duration, <unknown> without a time.
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func noneIfEmpty(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// podStatusWord is kubectl's STATUS: the pod's reason, else a waiting or
// terminated container's reason, else the phase.
func podStatusWord(p *corev1.Pod) string {
	word := string(p.Status.Phase)
	if word == "" {
		word = string(corev1.PodPending)
	}
	if p.Status.Reason != "" {
		word = p.Status.Reason
	}
	for _, cs := range p.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			return cs.State.Waiting.Reason
		case cs.State.Terminated != nil && cs.State.Terminated.Reason != "":
			return cs.State.Terminated.Reason
		case cs.State.Terminated != nil && cs.State.Terminated.Signal != 0:
			return fmt.Sprintf("Signal:%d", cs.State.Terminated.Signal)
		case cs.State.Terminated != nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed:
			return fmt.Sprintf("ExitCode:%d", cs.State.Terminated.ExitCode)
		}
	}
	return word
}

func podRow(o runtime.Object, c *tableContext) []any {
	p := o.(*corev1.Pod)
	ready, restarts := 0, 0
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
		restarts += int(cs.RestartCount)
	}
	return []any{
		p.Name, fmt.Sprintf("%d/%d", ready, len(p.Spec.Containers)), podStatusWord(p), strconv.Itoa(restarts),
		age(p.CreationTimestamp, c.now), noneIfEmpty(p.Status.PodIP), noneIfEmpty(p.Spec.NodeName), "<none>", "<none>",
	}
}

func rcRow(o runtime.Object, c *tableContext) []any {
	rc := o.(*corev1.ReplicationController)
	desired := int64(1)
	if rc.Spec.Replicas != nil {
		desired = int64(*rc.Spec.Replicas)
	}
	ready := int64(rc.Status.ReadyReplicas)
	if c.readyPods != nil && len(rc.Spec.Selector) > 0 {
		ready = int64(c.readyPods(rc.Namespace, rc.Spec.Selector))
	}
	var names, images []string
	if rc.Spec.Template != nil {
		for _, ct := range rc.Spec.Template.Spec.Containers {
			names = append(names, ct.Name)
			images = append(images, ct.Image)
		}
	}
	return []any{
		rc.Name, desired, int64(rc.Status.Replicas), ready, age(rc.CreationTimestamp, c.now),
		strings.Join(names, ","), strings.Join(images, ","), api.FormatLabels(rc.Spec.Selector),
	}
}

func svcRow(o runtime.Object, c *tableContext) []any {
	s := o.(*corev1.Service)
	ports := make([]string, 0, len(s.Spec.Ports))
	for _, p := range s.Spec.Ports {
		ports = append(ports, fmt.Sprintf("%d/%s", p.Port, p.Protocol))
	}
	ext := "<none>"
	if len(s.Spec.ExternalIPs) > 0 {
		ext = strings.Join(s.Spec.ExternalIPs, ",")
	} else if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
		ext = "<pending>"
	}
	return []any{
		s.Name, string(s.Spec.Type), noneIfEmpty(s.Spec.ClusterIP), ext, noneIfEmpty(strings.Join(ports, ",")),
		age(s.CreationTimestamp, c.now), api.FormatLabels(s.Spec.Selector),
	}
}

func epRow(o runtime.Object, c *tableContext) []any {
	e := o.(*corev1.Endpoints)
	var list []string
	for _, ss := range e.Subsets {
		for _, p := range ss.Ports {
			for _, a := range ss.Addresses {
				list = append(list, fmt.Sprintf("%s:%d", a.IP, p.Port))
			}
		}
	}
	s := "<none>"
	if len(list) > 3 {
		s = strings.Join(list[:3], ",") + fmt.Sprintf(" + %d more...", len(list)-3)
	} else if len(list) > 0 {
		s = strings.Join(list, ",")
	}
	return []any{e.Name, s, age(e.CreationTimestamp, c.now)}
}

func nodeRow(o runtime.Object, c *tableContext) []any {
	n := o.(*corev1.Node)
	status := "Unknown"
	for _, cond := range n.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			switch cond.Status {
			case corev1.ConditionTrue:
				status = "Ready"
			case corev1.ConditionFalse:
				status = "NotReady"
			}
		}
	}
	if n.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	ip := ""
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ip = a.Address
		}
	}
	return []any{
		n.Name, status, "<none>", age(n.CreationTimestamp, c.now), noneIfEmpty(cmp.Or(n.Status.NodeInfo.KubeletVersion, c.version)),
		noneIfEmpty(ip), "<none>", noneIfEmpty(n.Spec.PodCIDR),
	}
}

func eventRow(o runtime.Object, c *tableContext) []any {
	e := o.(*corev1.Event)
	obj := strings.ToLower(e.InvolvedObject.Kind) + "/" + e.InvolvedObject.Name
	return []any{
		age(e.LastTimestamp, c.now), e.Type, e.Reason, obj, e.InvolvedObject.FieldPath, e.Source.Component,
		strings.TrimSpace(e.Message), age(e.FirstTimestamp, c.now), int64(e.Count), e.Name,
	}
}

func nsRow(o runtime.Object, c *tableContext) []any {
	n := o.(*corev1.Namespace)
	return []any{n.Name, string(n.Status.Phase), age(n.CreationTimestamp, c.now)}
}

// includeObject is ?includeObject= of a Table request.
type includeObject string

const (
	includeNone     includeObject = "None"
	includeMetadata includeObject = "Metadata"
	includeFull     includeObject = "Object"
)

// buildTable makes the Table of objs (all of kind k).
func buildTable(k *kind, objs []runtime.Object, rv string, inc includeObject, c *tableContext, withColumns bool) *metav1.Table {
	t := &metav1.Table{
		TypeMeta: metav1.TypeMeta{Kind: "Table", APIVersion: "meta.k8s.io/v1"},
		ListMeta: metav1.ListMeta{ResourceVersion: rv},
		Rows:     make([]metav1.TableRow, 0, len(objs)),
	}
	if withColumns {
		t.ColumnDefinitions = k.columns
	}
	for _, o := range objs {
		row := metav1.TableRow{Cells: k.row(o, c)}
		switch inc {
		case includeNone:
		case includeFull:
			row.Object = runtime.RawExtension{Object: o}
		default:
			row.Object = runtime.RawExtension{Object: partialMetadata(o)}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// partialMetadata is the PartialObjectMetadata of a v1 object.
func partialMetadata(o runtime.Object) *metav1.PartialObjectMetadata {
	m := objectMeta(o)
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{Kind: "PartialObjectMetadata", APIVersion: "meta.k8s.io/v1"},
		ObjectMeta: *m,
	}
}

// objectMeta returns the ObjectMeta of any core/v1 object.
func objectMeta(o runtime.Object) *metav1.ObjectMeta {
	return o.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta)
}
