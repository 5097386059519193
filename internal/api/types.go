package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// TypeMeta is the metadata every v1beta1 object carries at its top level.
type TypeMeta struct {
	Kind              string            `json:"kind,omitempty"`
	ID                string            `json:"id,omitempty"`
	UID               string            `json:"uid,omitempty"`
	CreationTimestamp time.Time         `json:"creationTimestamp,omitzero"`
	SelfLink          string            `json:"selfLink,omitempty"`
	ResourceVersion   uint64            `json:"resourceVersion,omitempty"`
	APIVersion        string            `json:"apiVersion,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	// GenerateName, when ID is empty on create, asks the API for a readable
	// unique name with this prefix (kubelite extension; RCs set it).
	GenerateName string `json:"generateName,omitempty"`
}

// Meta returns the metadata; promoted to every type embedding TypeMeta.
func (m *TypeMeta) Meta() *TypeMeta { return m }

// Object is any stored API object.
type Object interface {
	Meta() *TypeMeta
}

// IntOrString holds either a number or a name (a port, for example).
type IntOrString struct {
	Kind   IntstrKind
	IntVal int
	StrVal string
}

// IntstrKind tells which half of an IntOrString is set.
type IntstrKind int

const (
	IntstrInt IntstrKind = iota
	IntstrString
)

// NewIntOrStringFromInt returns an IntOrString holding i.
func NewIntOrStringFromInt(i int) IntOrString { return IntOrString{Kind: IntstrInt, IntVal: i} }

// NewIntOrStringFromString returns an IntOrString holding s.
func NewIntOrStringFromString(s string) IntOrString {
	return IntOrString{Kind: IntstrString, StrVal: s}
}

// IsZero reports whether nothing is set.
func (v IntOrString) IsZero() bool {
	return (v.Kind == IntstrInt && v.IntVal == 0) || (v.Kind == IntstrString && v.StrVal == "")
}

// String returns the value as text.
func (v IntOrString) String() string {
	if v.Kind == IntstrString {
		return v.StrVal
	}
	return strconv.Itoa(v.IntVal)
}

// UnmarshalJSON accepts a number or a string.
func (v *IntOrString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v.Kind = IntstrString
		return json.Unmarshal(b, &v.StrVal)
	}
	v.Kind = IntstrInt
	if err := json.Unmarshal(b, &v.IntVal); err != nil {
		return fmt.Errorf("want a number or a string: %w", err)
	}
	return nil
}

// MarshalJSON writes a number or a string.
func (v IntOrString) MarshalJSON() ([]byte, error) {
	if v.Kind == IntstrString {
		return json.Marshal(v.StrVal)
	}
	return json.Marshal(v.IntVal)
}

// Pod is a group of containers scheduled together on one minion.
type Pod struct {
	TypeMeta     `json:",inline"`
	DesiredState PodState          `json:"desiredState,omitempty"`
	CurrentState PodState          `json:"currentState,omitempty"`
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
}

// PodStatus is the v1beta1 status word of a pod.
type PodStatus string

const (
	PodWaiting    PodStatus = "Waiting"
	PodRunning    PodStatus = "Running"
	PodTerminated PodStatus = "Terminated"
)

// PodPhase is the internal lifecycle phase that drives the CLI's STATUS column.
type PodPhase string

const (
	PodPhasePending   PodPhase = "Pending"
	PodPhaseRunning   PodPhase = "Running"
	PodPhaseSucceeded PodPhase = "Succeeded"
	PodPhaseFailed    PodPhase = "Failed"
	PodPhaseUnknown   PodPhase = "Unknown"
)

// PodState is the desired or current state of a pod.
type PodState struct {
	Manifest ContainerManifest `json:"manifest,omitempty"`
	Status   PodStatus         `json:"status,omitempty"`
	// Phase is kubelite's Pending|Running|Succeeded|Failed (v1beta3's phase).
	Phase  PodPhase `json:"phase,omitempty"`
	Host   string   `json:"host,omitempty"`
	HostIP string   `json:"hostIP,omitempty"`
	PodIP  string   `json:"podIP,omitempty"`
	// Info maps each container name, and "net" for the infra container, to
	// its status (a JSON object; a slice sorted by name in Go: podinfo.go).
	Info PodInfo `json:"info,omitempty"`
	// Reason and Message say why a pod is where it is (e.g. why it is not scheduled).
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// ContainerManifest is the v1beta1 pod manifest.
type ContainerManifest struct {
	Version       string        `json:"version,omitempty"`
	ID            string        `json:"id,omitempty"`
	UUID          string        `json:"uuid,omitempty"`
	Volumes       []Volume      `json:"volumes,omitempty"`
	Containers    []Container   `json:"containers,omitempty"`
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty"`
}

// Volume is a named volume of a pod; no source means emptyDir.
type Volume struct {
	Name   string        `json:"name"`
	Source *VolumeSource `json:"source,omitempty"`
}

// VolumeSource says where a volume comes from.
type VolumeSource struct {
	HostDir  *HostDir  `json:"hostDir,omitempty"`
	EmptyDir *EmptyDir `json:"emptyDir,omitempty"`
}

// HostDir is a directory of the minion bind-mounted into the pod.
type HostDir struct {
	Path string `json:"path"`
}

// EmptyDir is a scratch directory that lives as long as the pod.
type EmptyDir struct{}

// RestartPolicy says when a pod's containers are restarted; none set means always.
type RestartPolicy struct {
	Always    *RestartPolicyAlways    `json:"always,omitempty"`
	OnFailure *RestartPolicyOnFailure `json:"onFailure,omitempty"`
	Never     *RestartPolicyNever     `json:"never,omitempty"`
}

// RestartPolicyAlways restarts whatever the exit.
type RestartPolicyAlways struct{}

// RestartPolicyOnFailure restarts after a non-zero exit.
type RestartPolicyOnFailure struct{}

// RestartPolicyNever never restarts.
type RestartPolicyNever struct{}

// Container is one container of a pod.
type Container struct {
	Name            string         `json:"name"`
	Image           string         `json:"image"`
	Command         []string       `json:"command,omitempty"`
	WorkingDir      string         `json:"workingDir,omitempty"`
	Ports           []Port         `json:"ports,omitempty"`
	Env             []EnvVar       `json:"env,omitempty"`
	Memory          int64          `json:"memory,omitempty"` // bytes
	CPU             int64          `json:"cpu,omitempty"`    // millicores
	CPUQuota        bool           `json:"cpuQuota,omitempty"`
	VolumeMounts    []VolumeMount  `json:"volumeMounts,omitempty"`
	LivenessProbe   *LivenessProbe `json:"livenessProbe,omitempty"`
	Privileged      bool           `json:"privileged,omitempty"`
	ImagePullPolicy string         `json:"imagePullPolicy,omitempty"`
}

// Image pull policies.
const (
	PullAlways       = "PullAlways"
	PullNever        = "PullNever"
	PullIfNotPresent = "PullIfNotPresent"
)

// Port is a port a container exposes, optionally bound on the minion.
type Port struct {
	Name          string `json:"name,omitempty"`
	HostPort      int    `json:"hostPort,omitempty"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol,omitempty"` // TCP (default) or UDP
	HostIP        string `json:"hostIP,omitempty"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// VolumeMount mounts a pod volume into a container.
type VolumeMount struct {
	Name      string `json:"name"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	MountPath string `json:"mountPath,omitempty"`
}

// LivenessProbe checks a container; failure restarts it.
type LivenessProbe struct {
	HTTPGet             *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket           *TCPSocketAction `json:"tcpSocket,omitempty"`
	Exec                *ExecAction      `json:"exec,omitempty"`
	InitialDelaySeconds int64            `json:"initialDelaySeconds,omitempty"`
	TimeoutSeconds      int64            `json:"timeoutSeconds,omitempty"`
}

// HTTPGetAction probes with an HTTP GET; 2xx and 3xx are healthy.
type HTTPGetAction struct {
	Path string      `json:"path,omitempty"`
	Port IntOrString `json:"port,omitempty"`
	Host string      `json:"host,omitempty"`
}

// TCPSocketAction probes by opening a TCP connection.
type TCPSocketAction struct {
	Port IntOrString `json:"port,omitempty"`
}

// ExecAction probes by running a command in the container; exit 0 is healthy.
type ExecAction struct {
	Command []string `json:"command,omitempty"`
}

// ContainerStatus is the observed state of one container.
type ContainerStatus struct {
	State        ContainerState `json:"state,omitempty"`
	RestartCount int            `json:"restartCount"`
	PodIP        string         `json:"podIP,omitempty"`
	Image        string         `json:"image,omitempty"`
	ContainerID  string         `json:"containerID,omitempty"`
}

// ContainerState has exactly one of its fields set.
type ContainerState struct {
	Waiting     *ContainerStateWaiting    `json:"waiting,omitempty"`
	Running     *ContainerStateRunning    `json:"running,omitempty"`
	Termination *ContainerStateTerminated `json:"termination,omitempty"`
}

// ContainerStateWaiting is a container not yet running, with the reason.
type ContainerStateWaiting struct {
	Reason string `json:"reason,omitempty"`
}

// ContainerStateRunning is a running container.
type ContainerStateRunning struct {
	StartedAt time.Time `json:"startedAt,omitzero"`
}

// ContainerStateTerminated is a container that exited.
type ContainerStateTerminated struct {
	ExitCode   int       `json:"exitCode"`
	Signal     int       `json:"signal,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Message    string    `json:"message,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
}

// ReplicationController keeps a number of pods from a template running.
type ReplicationController struct {
	TypeMeta     `json:",inline"`
	DesiredState ReplicationControllerState `json:"desiredState,omitempty"`
	CurrentState ReplicationControllerState `json:"currentState,omitempty"`
}

// ReplicationControllerState is the desired or current state of an RC.
type ReplicationControllerState struct {
	Replicas        int               `json:"replicas"`
	ReplicaSelector map[string]string `json:"replicaSelector,omitempty"`
	PodTemplate     PodTemplate       `json:"podTemplate,omitempty"`
}

// PodTemplate is what an RC creates pods from.
type PodTemplate struct {
	DesiredState PodState          `json:"desiredState,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
}

// Service is a portal IP and port load-balanced over the pods its selector matches.
type Service struct {
	TypeMeta                   `json:",inline"`
	Port                       int               `json:"port"`
	Protocol                   string            `json:"protocol,omitempty"`
	Selector                   map[string]string `json:"selector,omitempty"`
	CreateExternalLoadBalancer bool              `json:"createExternalLoadBalancer,omitempty"`
	PublicIPs                  []string          `json:"publicIPs,omitempty"`
	ContainerPort              IntOrString       `json:"containerPort,omitempty"`
	PortalIP                   string            `json:"portalIP,omitempty"`
	ProxyPort                  int               `json:"proxyPort,omitempty"`
	SessionAffinity            string            `json:"sessionAffinity,omitempty"` // None or ClientIP
}

// Session affinity values.
const (
	AffinityNone     = "None"
	AffinityClientIP = "ClientIP"
)

// Endpoints lists the ip:port pairs behind a service (same id as the service).
type Endpoints struct {
	TypeMeta  `json:",inline"`
	Endpoints []string `json:"endpoints"`
}

// DefaultKubeletPort is where a minion's kubelet serves HTTP when nothing
// says otherwise (Minion.KubeletPort 0, no --kubelet_port or --port): the
// one definition of 10250.
const DefaultKubeletPort = 10250

// Minion is a host that runs pods.
type Minion struct {
	TypeMeta      `json:",inline"`
	HostIP        string        `json:"hostIP,omitempty"`
	Resources     NodeResources `json:"resources,omitempty"`
	Status        MinionStatus  `json:"status,omitempty"`
	Unschedulable bool          `json:"unschedulable,omitempty"`
	// PodCIDR is the pod subnet the master assigned to this minion.
	PodCIDR string `json:"podCIDR,omitempty"`
	// KubeletPort is where the minion's kubelet serves HTTP (0: the
	// reader's --kubelet_port, by default DefaultKubeletPort).
	KubeletPort int `json:"kubeletPort,omitempty"`
}

// NodeResources holds a minion's capacity.
type NodeResources struct {
	Capacity Capacity `json:"capacity,omitempty"`
}

// Capacity in cpu millicores and memory bytes; 0 means unlimited.
type Capacity struct {
	CPU    int64 `json:"cpu,omitempty"`
	Memory int64 `json:"memory,omitempty"`
}

// MinionCondition is Ready or NotReady (or Unknown before the first heartbeat).
type MinionCondition string

const (
	MinionReady    MinionCondition = "Ready"
	MinionNotReady MinionCondition = "NotReady"
	MinionUnknown  MinionCondition = "Unknown"
)

// MinionStatus is what the master knows of a minion's health.
type MinionStatus struct {
	Condition     MinionCondition `json:"condition,omitempty"`
	LastHeartbeat time.Time       `json:"lastHeartbeat,omitzero"`
	Reason        string          `json:"reason,omitempty"`
	// NotReadySince is when the minion last became NotReady.
	NotReadySince time.Time `json:"notReadySince,omitzero"`
}

// Binding assigns a pod to a minion (POST only).
type Binding struct {
	TypeMeta `json:",inline"`
	PodID    string `json:"podID"`
	Host     string `json:"host"`
}

// ObjectReference points at another object.
type ObjectReference struct {
	Kind            string `json:"kind,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion uint64 `json:"resourceVersion,omitempty"`
	FieldPath       string `json:"fieldPath,omitempty"`
}

// Event records something that happened to an object.
type Event struct {
	TypeMeta       `json:",inline"`
	InvolvedObject ObjectReference `json:"involvedObject,omitempty"`
	Status         string          `json:"status,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	Message        string          `json:"message,omitempty"`
	Source         string          `json:"source,omitempty"`
	Timestamp      time.Time       `json:"timestamp,omitzero"`
}

// Lists.
type (
	PodList struct {
		TypeMeta `json:",inline"`
		Items    []Pod `json:"items"`
	}
	ReplicationControllerList struct {
		TypeMeta `json:",inline"`
		Items    []ReplicationController `json:"items"`
	}
	ServiceList struct {
		TypeMeta `json:",inline"`
		Items    []Service `json:"items"`
	}
	EndpointsList struct {
		TypeMeta `json:",inline"`
		Items    []Endpoints `json:"items"`
	}
	MinionList struct {
		TypeMeta `json:",inline"`
		Items    []Minion `json:"items"`
	}
	EventList struct {
		TypeMeta `json:",inline"`
		Items    []Event `json:"items"`
	}
)

// ServerVersion is what /version answers.
type ServerVersion struct {
	Major        string `json:"major"`
	Minor        string `json:"minor"`
	GitVersion   string `json:"gitVersion"`
	GitCommit    string `json:"gitCommit"`
	GitTreeState string `json:"gitTreeState"`
}

// WatchEvent is one frame of a watch stream.
type WatchEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}
