package v1api

import (
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"kubelite/internal/api"
)

// Conversion between kubelite's internal (v1beta1-shaped) objects and the
// core/v1 wire types. ToV1 is total. FromV1 writes every field v1 can
// express over a base (the stored object on update, nil on create), so the
// fields v1 has no place for (a pod's manifest id, the infra container's
// status, a service's proxyPort...) survive a v1 write. A v1 field kubelite
// cannot honour (a second service port, env valueFrom, NodePort services)
// is a 422 naming it; fields without meaning here (dnsPolicy, tolerations,
// probes' periods...) are dropped.

// metaToV1 maps TypeMeta to ObjectMeta.
func metaToV1(m *api.TypeMeta) metav1.ObjectMeta {
	om := metav1.ObjectMeta{
		Name: m.ID, GenerateName: m.GenerateName, Namespace: m.Namespace,
		UID:               types.UID(m.UID),
		CreationTimestamp: metav1.NewTime(m.CreationTimestamp),
		Labels:            copyMap(m.Labels), Annotations: copyMap(m.Annotations),
	}
	if m.ResourceVersion != 0 {
		om.ResourceVersion = strconv.FormatUint(m.ResourceVersion, 10)
	}
	return om
}

// metaFromV1 writes ObjectMeta into m (kind and apiVersion are the caller's).
func metaFromV1(om *metav1.ObjectMeta, m *api.TypeMeta) error {
	m.ID, m.GenerateName, m.Namespace = om.Name, om.GenerateName, om.Namespace
	m.UID = string(om.UID)
	if !om.CreationTimestamp.IsZero() {
		m.CreationTimestamp = om.CreationTimestamp.Time
	}
	m.Labels, m.Annotations = copyMap(om.Labels), copyMap(om.Annotations)
	m.ResourceVersion = 0
	if om.ResourceVersion != "" {
		rv, err := strconv.ParseUint(om.ResourceVersion, 10, 64)
		if err != nil {
			return invalid("metadata.resourceVersion", fmt.Sprintf("%q is not a resourceVersion of this server", om.ResourceVersion))
		}
		m.ResourceVersion = rv
	}
	return nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// invalid is a 422 about one field of a v1 body.
func invalid(field, msg string) error {
	return api.NewInvalid("", "", []api.StatusCause{{Reason: api.CauseInvalid, Field: field, Message: msg}})
}

func unsupported(field, msg string) error {
	return api.NewInvalid("", "", []api.StatusCause{{Reason: api.CauseNotSupported, Field: field, Message: msg}})
}

// ---- pods ----

// PodToV1 converts a pod.
func PodToV1(p *api.Pod) *corev1.Pod {
	out := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metaToV1(&p.TypeMeta),
		Spec:       podSpecToV1(&p.DesiredState.Manifest, p.NodeSelector, p.DesiredState.Host),
	}
	cs := &p.CurrentState
	out.Status = corev1.PodStatus{
		Phase: corev1.PodPhase(cs.Phase), HostIP: cs.HostIP, PodIP: cs.PodIP,
		Reason: cs.Reason, Message: cs.Message,
	}
	if cs.PodIP != "" {
		out.Status.PodIPs = []corev1.PodIP{{IP: cs.PodIP}}
	}
	if cs.HostIP != "" {
		out.Status.HostIPs = []corev1.HostIP{{IP: cs.HostIP}}
	}
	ready := true
	for _, e := range cs.Info { // in name order
		if e.Name == infraName {
			continue
		}
		st := containerStatusToV1(e.Name, e.ContainerStatus)
		ready = ready && st.Ready
		out.Status.ContainerStatuses = append(out.Status.ContainerStatuses, st)
	}
	ready = ready && len(out.Status.ContainerStatuses) > 0 // no app container's status: not ready
	if cs.Phase != "" {
		cond := corev1.ConditionFalse
		if ready && cs.Phase == api.PodPhaseRunning {
			cond = corev1.ConditionTrue
		}
		out.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: boolCond(p.DesiredState.Host != "")},
			{Type: corev1.PodReady, Status: cond},
			{Type: corev1.ContainersReady, Status: cond},
		}
	}
	return out
}

// infraName is the Info key of the pod's infra (network) container.
const infraName = "net"

func boolCond(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}

// PodFromV1 converts a v1 pod over base (nil on create).
func PodFromV1(in *corev1.Pod, base *api.Pod) (*api.Pod, error) {
	out := &api.Pod{}
	if base != nil {
		out = api.Copy(base)
	}
	if err := metaFromV1(&in.ObjectMeta, &out.TypeMeta); err != nil {
		return nil, err
	}
	out.Kind, out.APIVersion = "Pod", api.APIVersion
	if err := podSpecFromV1(&in.Spec, "spec", &out.DesiredState.Manifest); err != nil {
		return nil, err
	}
	out.NodeSelector = copyMap(in.Spec.NodeSelector)
	out.DesiredState.Host = in.Spec.NodeName
	cs := &out.CurrentState
	cs.Phase = api.PodPhase(in.Status.Phase)
	cs.HostIP, cs.PodIP = in.Status.HostIP, in.Status.PodIP
	cs.Reason, cs.Message = in.Status.Reason, in.Status.Message
	var info api.PodInfo
	if infra, ok := cs.Info.Get(infraName); ok {
		info.Set(infraName, infra)
	}
	for _, st := range in.Status.ContainerStatuses {
		old := cs.Info.Status(st.Name) // the zero status for a container base has none of
		info.Set(st.Name, containerStatusFromV1(&st, old))
	}
	cs.Info = info
	return out, nil
}

func podSpecToV1(m *api.ContainerManifest, nodeSelector map[string]string, host string) corev1.PodSpec {
	spec := corev1.PodSpec{NodeSelector: copyMap(nodeSelector), NodeName: host}
	for _, v := range m.Volumes {
		vol := corev1.Volume{Name: v.Name}
		switch {
		case v.Source == nil:
		case v.Source.HostDir != nil:
			vol.HostPath = &corev1.HostPathVolumeSource{Path: v.Source.HostDir.Path}
		case v.Source.EmptyDir != nil:
			vol.EmptyDir = &corev1.EmptyDirVolumeSource{}
		}
		spec.Volumes = append(spec.Volumes, vol)
	}
	for _, c := range m.Containers {
		spec.Containers = append(spec.Containers, containerToV1(&c))
	}
	switch rp := m.RestartPolicy; {
	case rp.Always != nil:
		spec.RestartPolicy = corev1.RestartPolicyAlways
	case rp.OnFailure != nil:
		spec.RestartPolicy = corev1.RestartPolicyOnFailure
	case rp.Never != nil:
		spec.RestartPolicy = corev1.RestartPolicyNever
	}
	return spec
}

// podSpecFromV1 writes a v1 pod spec into a manifest (keeping its version,
// id and uuid, which v1 has no place for).
func podSpecFromV1(spec *corev1.PodSpec, path string, m *api.ContainerManifest) error {
	m.Volumes = nil
	for i, v := range spec.Volumes {
		vol := api.Volume{Name: v.Name}
		switch {
		case v.HostPath != nil:
			vol.Source = &api.VolumeSource{HostDir: &api.HostDir{Path: v.HostPath.Path}}
		case v.EmptyDir != nil:
			vol.Source = &api.VolumeSource{EmptyDir: &api.EmptyDir{}}
		case v.VolumeSource != (corev1.VolumeSource{}):
			return unsupported(fmt.Sprintf("%s.volumes[%d]", path, i), "kubelite volumes are emptyDir or hostPath")
		}
		m.Volumes = append(m.Volumes, vol)
	}
	if len(spec.InitContainers) > 0 {
		return unsupported(path+".initContainers", "kubelite pods have no init containers")
	}
	m.Containers = nil
	for i := range spec.Containers {
		c, err := containerFromV1(&spec.Containers[i], fmt.Sprintf("%s.containers[%d]", path, i))
		if err != nil {
			return err
		}
		m.Containers = append(m.Containers, c)
	}
	m.RestartPolicy = api.RestartPolicy{}
	switch spec.RestartPolicy {
	case corev1.RestartPolicyAlways:
		m.RestartPolicy.Always = &api.RestartPolicyAlways{}
	case corev1.RestartPolicyOnFailure:
		m.RestartPolicy.OnFailure = &api.RestartPolicyOnFailure{}
	case corev1.RestartPolicyNever:
		m.RestartPolicy.Never = &api.RestartPolicyNever{}
	case "":
	default:
		return unsupported(path+".restartPolicy", fmt.Sprintf("%q: want Always, OnFailure or Never", spec.RestartPolicy))
	}
	return nil
}

var pullToV1 = map[string]corev1.PullPolicy{
	api.PullAlways: corev1.PullAlways, api.PullNever: corev1.PullNever, api.PullIfNotPresent: corev1.PullIfNotPresent,
}

func containerToV1(c *api.Container) corev1.Container {
	out := corev1.Container{
		Name: c.Name, Image: c.Image, Command: append([]string(nil), c.Command...), WorkingDir: c.WorkingDir,
		ImagePullPolicy: pullToV1[c.ImagePullPolicy],
	}
	if out.ImagePullPolicy == "" && c.ImagePullPolicy != "" {
		out.ImagePullPolicy = corev1.PullPolicy(c.ImagePullPolicy)
	}
	for _, p := range c.Ports {
		out.Ports = append(out.Ports, corev1.ContainerPort{
			Name: p.Name, HostPort: int32(p.HostPort), ContainerPort: int32(p.ContainerPort),
			Protocol: corev1.Protocol(p.Protocol), HostIP: p.HostIP,
		})
	}
	for _, e := range c.Env {
		out.Env = append(out.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	// Memory is always a limit (Docker's); cpu is a limit when kubelite
	// enforces it with a CFS quota, else a request (shares only).
	if c.Memory != 0 || (c.CPU != 0 && c.CPUQuota) {
		out.Resources.Limits = corev1.ResourceList{}
	}
	if c.Memory != 0 {
		out.Resources.Limits[corev1.ResourceMemory] = *resource.NewQuantity(c.Memory, resource.BinarySI)
	}
	if c.CPU != 0 {
		q := *resource.NewMilliQuantity(c.CPU, resource.DecimalSI)
		if c.CPUQuota {
			out.Resources.Limits[corev1.ResourceCPU] = q
		} else {
			out.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: q}
		}
	}
	for _, vm := range c.VolumeMounts {
		out.VolumeMounts = append(out.VolumeMounts, corev1.VolumeMount{Name: vm.Name, ReadOnly: vm.ReadOnly, MountPath: vm.MountPath})
	}
	if lp := c.LivenessProbe; lp != nil {
		pr := &corev1.Probe{InitialDelaySeconds: int32(lp.InitialDelaySeconds), TimeoutSeconds: int32(lp.TimeoutSeconds)}
		if lp.HTTPGet != nil {
			pr.HTTPGet = &corev1.HTTPGetAction{Path: lp.HTTPGet.Path, Port: intstrToV1(lp.HTTPGet.Port), Host: lp.HTTPGet.Host}
		}
		if lp.TCPSocket != nil {
			pr.TCPSocket = &corev1.TCPSocketAction{Port: intstrToV1(lp.TCPSocket.Port)}
		}
		if lp.Exec != nil {
			pr.Exec = &corev1.ExecAction{Command: append([]string(nil), lp.Exec.Command...)}
		}
		out.LivenessProbe = pr
	}
	if c.Privileged {
		t := true
		out.SecurityContext = &corev1.SecurityContext{Privileged: &t}
	}
	return out
}

func containerFromV1(c *corev1.Container, path string) (api.Container, error) {
	out := api.Container{Name: c.Name, Image: c.Image, WorkingDir: c.WorkingDir}
	// v1beta1 has one command (Docker's Cmd): a v1 command is followed by its args.
	if n := len(c.Command) + len(c.Args); n > 0 {
		out.Command = make([]string, 0, n)
		out.Command = append(append(out.Command, c.Command...), c.Args...)
	}
	switch c.ImagePullPolicy {
	case corev1.PullAlways:
		out.ImagePullPolicy = api.PullAlways
	case corev1.PullNever:
		out.ImagePullPolicy = api.PullNever
	case corev1.PullIfNotPresent:
		out.ImagePullPolicy = api.PullIfNotPresent
	default:
		out.ImagePullPolicy = string(c.ImagePullPolicy)
	}
	for _, p := range c.Ports {
		out.Ports = append(out.Ports, api.Port{
			Name: p.Name, HostPort: int(p.HostPort), ContainerPort: int(p.ContainerPort),
			Protocol: string(p.Protocol), HostIP: p.HostIP,
		})
	}
	for i, e := range c.Env {
		if e.ValueFrom != nil {
			return out, unsupported(fmt.Sprintf("%s.env[%d].valueFrom", path, i), "kubelite has no secrets, config maps or downward API: give a value")
		}
		out.Env = append(out.Env, api.EnvVar{Name: e.Name, Value: e.Value})
	}
	if len(c.EnvFrom) > 0 {
		return out, unsupported(path+".envFrom", "kubelite has no secrets or config maps")
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		out.Memory = q.Value()
	} else if q, ok := c.Resources.Requests[corev1.ResourceMemory]; ok {
		out.Memory = q.Value()
	}
	if q, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
		out.CPU, out.CPUQuota = q.MilliValue(), true
	} else if q, ok := c.Resources.Requests[corev1.ResourceCPU]; ok {
		out.CPU = q.MilliValue()
	}
	for _, vm := range c.VolumeMounts {
		out.VolumeMounts = append(out.VolumeMounts, api.VolumeMount{Name: vm.Name, ReadOnly: vm.ReadOnly, MountPath: vm.MountPath})
	}
	if pr := c.LivenessProbe; pr != nil {
		lp := &api.LivenessProbe{InitialDelaySeconds: int64(pr.InitialDelaySeconds), TimeoutSeconds: int64(pr.TimeoutSeconds)}
		if pr.HTTPGet != nil {
			lp.HTTPGet = &api.HTTPGetAction{Path: pr.HTTPGet.Path, Port: intstrFromV1(pr.HTTPGet.Port), Host: pr.HTTPGet.Host}
		}
		if pr.TCPSocket != nil {
			lp.TCPSocket = &api.TCPSocketAction{Port: intstrFromV1(pr.TCPSocket.Port)}
		}
		if pr.Exec != nil {
			lp.Exec = &api.ExecAction{Command: append([]string(nil), pr.Exec.Command...)}
		}
		if pr.GRPC != nil {
			return out, unsupported(path+".livenessProbe.grpc", "kubelite probes are httpGet, tcpSocket or exec")
		}
		out.LivenessProbe = lp
	}
	if sc := c.SecurityContext; sc != nil && sc.Privileged != nil {
		out.Privileged = *sc.Privileged
	}
	return out, nil
}

func intstrToV1(v api.IntOrString) intstr.IntOrString {
	if v.Kind == api.IntstrString {
		return intstr.FromString(v.StrVal)
	}
	return intstr.FromInt32(int32(v.IntVal))
}

func intstrFromV1(v intstr.IntOrString) api.IntOrString {
	if v.Type == intstr.String {
		return api.NewIntOrStringFromString(v.StrVal)
	}
	return api.NewIntOrStringFromInt(int(v.IntVal))
}

func containerStatusToV1(name string, s api.ContainerStatus) corev1.ContainerStatus {
	out := corev1.ContainerStatus{
		Name: name, RestartCount: int32(s.RestartCount), Image: s.Image, ContainerID: s.ContainerID,
	}
	st := &s.State
	if st.Waiting != nil {
		out.State.Waiting = &corev1.ContainerStateWaiting{Reason: st.Waiting.Reason}
	}
	if st.Running != nil {
		out.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(st.Running.StartedAt)}
		out.Ready = true
		t := true
		out.Started = &t
	}
	if t := st.Termination; t != nil {
		out.State.Terminated = &corev1.ContainerStateTerminated{
			ExitCode: int32(t.ExitCode), Signal: int32(t.Signal), Reason: t.Reason, Message: t.Message,
			StartedAt: metav1.NewTime(t.StartedAt), FinishedAt: metav1.NewTime(t.FinishedAt),
		}
	}
	return out
}

// containerStatusFromV1 keeps old's podIP, which v1 has per pod only.
func containerStatusFromV1(s *corev1.ContainerStatus, old api.ContainerStatus) api.ContainerStatus {
	out := api.ContainerStatus{RestartCount: int(s.RestartCount), Image: s.Image, ContainerID: s.ContainerID, PodIP: old.PodIP}
	if w := s.State.Waiting; w != nil {
		out.State.Waiting = &api.ContainerStateWaiting{Reason: w.Reason}
	}
	if r := s.State.Running; r != nil {
		out.State.Running = &api.ContainerStateRunning{StartedAt: r.StartedAt.Time}
	}
	if t := s.State.Terminated; t != nil {
		out.State.Termination = &api.ContainerStateTerminated{
			ExitCode: int(t.ExitCode), Signal: int(t.Signal), Reason: t.Reason, Message: t.Message,
			StartedAt: t.StartedAt.Time, FinishedAt: t.FinishedAt.Time,
		}
	}
	return out
}

// ---- replication controllers ----

// RCToV1 converts a replication controller.
func RCToV1(rc *api.ReplicationController) *corev1.ReplicationController {
	n := int32(rc.DesiredState.Replicas)
	tpl := &rc.DesiredState.PodTemplate
	return &corev1.ReplicationController{
		TypeMeta:   metav1.TypeMeta{Kind: "ReplicationController", APIVersion: "v1"},
		ObjectMeta: metaToV1(&rc.TypeMeta),
		Spec: corev1.ReplicationControllerSpec{
			Replicas: &n,
			Selector: copyMap(rc.DesiredState.ReplicaSelector),
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: copyMap(tpl.Labels)},
				Spec:       podSpecToV1(&tpl.DesiredState.Manifest, tpl.NodeSelector, tpl.DesiredState.Host),
			},
		},
		Status: corev1.ReplicationControllerStatus{Replicas: int32(rc.CurrentState.Replicas)},
	}
}

// RCFromV1 converts a v1 replication controller over base (nil on
// create), with v1's defaults: one replica, the template's labels as the
// selector.
func RCFromV1(in *corev1.ReplicationController, base *api.ReplicationController) (*api.ReplicationController, error) {
	out := &api.ReplicationController{}
	if base != nil {
		out = api.Copy(base)
	}
	if err := metaFromV1(&in.ObjectMeta, &out.TypeMeta); err != nil {
		return nil, err
	}
	out.Kind, out.APIVersion = "ReplicationController", api.APIVersion
	ds := &out.DesiredState
	ds.Replicas = 1
	if in.Spec.Replicas != nil {
		ds.Replicas = int(*in.Spec.Replicas)
	}
	ds.ReplicaSelector = copyMap(in.Spec.Selector)
	tpl := &ds.PodTemplate
	if t := in.Spec.Template; t != nil {
		tpl.Labels = copyMap(t.Labels)
		if len(ds.ReplicaSelector) == 0 {
			ds.ReplicaSelector = copyMap(t.Labels)
		}
		if err := podSpecFromV1(&t.Spec, "spec.template.spec", &tpl.DesiredState.Manifest); err != nil {
			return nil, err
		}
		tpl.NodeSelector = copyMap(t.Spec.NodeSelector)
		tpl.DesiredState.Host = t.Spec.NodeName
	} else {
		*tpl = api.PodTemplate{}
	}
	out.CurrentState.Replicas = int(in.Status.Replicas)
	return out, nil
}

// ---- services and endpoints ----

// ServiceToV1 converts a service.
func ServiceToV1(s *api.Service) *corev1.Service {
	out := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{Kind: "Service", APIVersion: "v1"},
		ObjectMeta: metaToV1(&s.TypeMeta),
		Spec: corev1.ServiceSpec{
			Selector: copyMap(s.Selector), ClusterIP: s.PortalIP,
			ExternalIPs:     append([]string(nil), s.PublicIPs...),
			SessionAffinity: corev1.ServiceAffinity(s.SessionAffinity),
			Type:            corev1.ServiceTypeClusterIP,
		},
	}
	if s.Port != 0 || s.Protocol != "" || !s.ContainerPort.IsZero() {
		p := corev1.ServicePort{Port: int32(s.Port), Protocol: corev1.Protocol(s.Protocol)}
		if !s.ContainerPort.IsZero() {
			p.TargetPort = intstrToV1(s.ContainerPort)
		}
		out.Spec.Ports = []corev1.ServicePort{p}
	}
	if s.PortalIP != "" {
		out.Spec.ClusterIPs = []string{s.PortalIP}
	}
	if s.CreateExternalLoadBalancer {
		out.Spec.Type = corev1.ServiceTypeLoadBalancer
	}
	return out
}

// ServiceFromV1 converts a v1 service over base (nil on create).
func ServiceFromV1(in *corev1.Service, base *api.Service) (*api.Service, error) {
	out := &api.Service{}
	if base != nil {
		out = api.Copy(base)
	}
	if err := metaFromV1(&in.ObjectMeta, &out.TypeMeta); err != nil {
		return nil, err
	}
	out.Kind, out.APIVersion = "Service", api.APIVersion
	sp := &in.Spec
	switch len(sp.Ports) {
	case 0:
		out.Port, out.Protocol, out.ContainerPort = 0, "", api.IntOrString{}
	case 1:
		p := sp.Ports[0]
		if p.NodePort != 0 {
			return nil, unsupported("spec.ports[0].nodePort", "kubelite services have no node ports")
		}
		out.Port, out.Protocol = int(p.Port), string(p.Protocol)
		out.ContainerPort = api.IntOrString{}
		if p.TargetPort != (intstr.IntOrString{}) {
			out.ContainerPort = intstrFromV1(p.TargetPort)
		}
	default:
		return nil, unsupported("spec.ports", "a kubelite service has one port (v1beta1's port and containerPort): create one service per port")
	}
	out.Selector = copyMap(sp.Selector)
	out.PortalIP = sp.ClusterIP
	if out.PortalIP == corev1.ClusterIPNone {
		return nil, unsupported("spec.clusterIP", "kubelite has no headless services")
	}
	if out.PortalIP == "" && len(sp.ClusterIPs) > 0 {
		out.PortalIP = sp.ClusterIPs[0]
	}
	out.PublicIPs = append([]string(nil), sp.ExternalIPs...)
	out.SessionAffinity = string(sp.SessionAffinity)
	switch sp.Type {
	case "", corev1.ServiceTypeClusterIP:
		out.CreateExternalLoadBalancer = false
	case corev1.ServiceTypeLoadBalancer:
		out.CreateExternalLoadBalancer = true
	default:
		return nil, unsupported("spec.type", fmt.Sprintf("%q: kubelite services are ClusterIP or LoadBalancer", sp.Type))
	}
	return out, nil
}

// EndpointsToV1 converts endpoints: each run of "ip:port" entries with the
// same port becomes one subset, so the order survives a round trip.
func EndpointsToV1(e *api.Endpoints) *corev1.Endpoints {
	out := &corev1.Endpoints{
		TypeMeta:   metav1.TypeMeta{Kind: "Endpoints", APIVersion: "v1"},
		ObjectMeta: metaToV1(&e.TypeMeta),
	}
	for _, ep := range e.Endpoints {
		host, portStr, err := net.SplitHostPort(ep)
		port, perr := strconv.ParseInt(portStr, 10, 32)
		if err != nil || perr != nil {
			continue // not an ip:port; validation keeps these out of the store
		}
		n := len(out.Subsets)
		if n == 0 || out.Subsets[n-1].Ports[0].Port != int32(port) {
			out.Subsets = append(out.Subsets, corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Port: int32(port)}}})
			n++
		}
		out.Subsets[n-1].Addresses = append(out.Subsets[n-1].Addresses, corev1.EndpointAddress{IP: host})
	}
	return out
}

// EndpointsFromV1 converts v1 endpoints: every address with every port of
// its subset (ready addresses only).
func EndpointsFromV1(in *corev1.Endpoints, base *api.Endpoints) (*api.Endpoints, error) {
	out := &api.Endpoints{}
	if base != nil {
		out = api.Copy(base)
	}
	if err := metaFromV1(&in.ObjectMeta, &out.TypeMeta); err != nil {
		return nil, err
	}
	out.Kind, out.APIVersion = "Endpoints", api.APIVersion
	out.Endpoints = []string{}
	for _, ss := range in.Subsets {
		for _, p := range ss.Ports {
			for _, a := range ss.Addresses {
				out.Endpoints = append(out.Endpoints, net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	return out, nil
}

// ---- nodes ----

var conditionToV1 = map[api.MinionCondition]corev1.ConditionStatus{
	api.MinionReady: corev1.ConditionTrue, api.MinionNotReady: corev1.ConditionFalse, api.MinionUnknown: corev1.ConditionUnknown,
}

// NodeToV1 converts a minion.
func NodeToV1(m *api.Minion) *corev1.Node {
	out := &corev1.Node{
		TypeMeta:   metav1.TypeMeta{Kind: "Node", APIVersion: "v1"},
		ObjectMeta: metaToV1(&m.TypeMeta),
		Spec:       corev1.NodeSpec{PodCIDR: m.PodCIDR, Unschedulable: m.Unschedulable},
	}
	if m.PodCIDR != "" {
		out.Spec.PodCIDRs = []string{m.PodCIDR}
	}
	c := m.Resources.Capacity
	if c.CPU != 0 || c.Memory != 0 {
		rl := corev1.ResourceList{}
		if c.CPU != 0 {
			rl[corev1.ResourceCPU] = *resource.NewMilliQuantity(c.CPU, resource.DecimalSI)
		}
		if c.Memory != 0 {
			rl[corev1.ResourceMemory] = *resource.NewQuantity(c.Memory, resource.BinarySI)
		}
		out.Status.Capacity, out.Status.Allocatable = rl, rl.DeepCopy()
	}
	if m.HostIP != "" {
		out.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: m.HostIP}}
	}
	if m.Status.Condition != "" {
		st, ok := conditionToV1[m.Status.Condition]
		if !ok {
			st = corev1.ConditionStatus(m.Status.Condition)
		}
		out.Status.Conditions = []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: st, Reason: m.Status.Reason,
			LastHeartbeatTime:  metav1.NewTime(m.Status.LastHeartbeat),
			LastTransitionTime: metav1.NewTime(m.Status.NotReadySince),
		}}
	}
	out.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(m.KubeletPort)
	return out
}

// NodeFromV1 converts a v1 node over base (nil on create).
func NodeFromV1(in *corev1.Node, base *api.Minion) (*api.Minion, error) {
	out := &api.Minion{}
	if base != nil {
		out = api.Copy(base)
	}
	if err := metaFromV1(&in.ObjectMeta, &out.TypeMeta); err != nil {
		return nil, err
	}
	out.Kind, out.APIVersion, out.Namespace = "Minion", api.APIVersion, ""
	out.PodCIDR, out.Unschedulable = in.Spec.PodCIDR, in.Spec.Unschedulable
	if out.PodCIDR == "" && len(in.Spec.PodCIDRs) > 0 {
		out.PodCIDR = in.Spec.PodCIDRs[0]
	}
	out.Resources.Capacity = api.Capacity{}
	if q, ok := in.Status.Capacity[corev1.ResourceCPU]; ok {
		out.Resources.Capacity.CPU = q.MilliValue()
	}
	if q, ok := in.Status.Capacity[corev1.ResourceMemory]; ok {
		out.Resources.Capacity.Memory = q.Value()
	}
	out.HostIP = ""
	for _, a := range in.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			out.HostIP = a.Address
			break
		}
	}
	out.Status = api.MinionStatus{}
	for _, c := range in.Status.Conditions {
		if c.Type != corev1.NodeReady {
			continue
		}
		out.Status.Condition = api.MinionCondition(c.Status)
		for k, v := range conditionToV1 {
			if v == c.Status {
				out.Status.Condition = k
			}
		}
		out.Status.Reason = c.Reason
		out.Status.LastHeartbeat = c.LastHeartbeatTime.Time
		out.Status.NotReadySince = c.LastTransitionTime.Time
	}
	out.KubeletPort = int(in.Status.DaemonEndpoints.KubeletEndpoint.Port)
	return out, nil
}

// ---- events ----

// EventToV1 converts an event; v0.6's status word travels as v1's action.
func EventToV1(e *api.Event) *corev1.Event {
	io := e.InvolvedObject
	out := &corev1.Event{
		TypeMeta:   metav1.TypeMeta{Kind: "Event", APIVersion: "v1"},
		ObjectMeta: metaToV1(&e.TypeMeta),
		InvolvedObject: corev1.ObjectReference{
			Kind: io.Kind, Namespace: io.Namespace, Name: io.Name, UID: types.UID(io.UID),
			APIVersion: io.APIVersion, FieldPath: io.FieldPath,
		},
		Reason: e.Reason, Message: e.Message, Action: e.Status,
		Source:         corev1.EventSource{Component: e.Source},
		FirstTimestamp: metav1.NewTime(e.Timestamp), LastTimestamp: metav1.NewTime(e.Timestamp),
		Count: 1, Type: corev1.EventTypeNormal,
	}
	if io.ResourceVersion != 0 {
		out.InvolvedObject.ResourceVersion = strconv.FormatUint(io.ResourceVersion, 10)
	}
	return out
}

// EventFromV1 converts a v1 event over base (nil on create).
func EventFromV1(in *corev1.Event, base *api.Event) (*api.Event, error) {
	out := &api.Event{}
	if base != nil {
		out = api.Copy(base)
	}
	if err := metaFromV1(&in.ObjectMeta, &out.TypeMeta); err != nil {
		return nil, err
	}
	out.Kind, out.APIVersion = "Event", api.APIVersion
	io := in.InvolvedObject
	out.InvolvedObject = api.ObjectReference{
		Kind: io.Kind, Namespace: io.Namespace, Name: io.Name, UID: string(io.UID),
		APIVersion: io.APIVersion, FieldPath: io.FieldPath,
	}
	if io.ResourceVersion != "" {
		rv, err := strconv.ParseUint(io.ResourceVersion, 10, 64)
		if err != nil {
			return nil, invalid("involvedObject.resourceVersion", fmt.Sprintf("%q is not a resourceVersion of this server", io.ResourceVersion))
		}
		out.InvolvedObject.ResourceVersion = rv
	}
	out.Reason, out.Message, out.Status, out.Source = in.Reason, in.Message, in.Action, in.Source.Component
	switch {
	case !in.LastTimestamp.IsZero():
		out.Timestamp = in.LastTimestamp.Time
	case !in.FirstTimestamp.IsZero():
		out.Timestamp = in.FirstTimestamp.Time
	case !in.EventTime.IsZero():
		out.Timestamp = in.EventTime.Time
	default:
		out.Timestamp = time.Time{}
	}
	return out, nil
}
