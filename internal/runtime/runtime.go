package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"
)

// Labels kubelite puts on every container it creates.
const (
	LabelManaged       = "io.kubelite.managed" // always "true"
	LabelPodUID        = "io.kubelite.pod.uid"
	LabelPodNamespace  = "io.kubelite.pod.namespace"
	LabelPodName       = "io.kubelite.pod.name"
	LabelContainerName = "io.kubelite.container.name"
	LabelSpecHash      = "io.kubelite.container.hash"
	// LabelAttempt counts the containers made for one pod container: 0 for
	// the first, +1 for each restart. The kubelet's restartCount is the
	// attempt of the newest container, so it survives a kubelet restart.
	LabelAttempt = "io.kubelite.container.attempt"
	// LabelMinion names the minion whose kubelet made the container: each
	// kubelet lists and touches only its own, so several kubelets (tests,
	// a standalone beside a test) can share one engine.
	LabelMinion = "io.kubelite.minion"
)

// Errors callers can test with errors.Is.
var (
	ErrNotFound        = errors.New("container not found")
	ErrImageNotPresent = errors.New("image not present")
)

// State is a container's lifecycle state.
type State string

// Container states.
const (
	StateCreated State = "created"
	StateRunning State = "running"
	StateExited  State = "exited"
)

// Container is what the runtime knows of one managed container.
type Container struct {
	ID         string
	Name       string
	Image      string
	Labels     map[string]string
	State      State
	ExitCode   int
	OOMKilled  bool
	Error      string
	CreatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	// IP is the container's address on its network (set for containers
	// with their own network namespace, i.e. pod infra containers).
	IP string
}

// PortBinding publishes a container port on the host.
type PortBinding struct {
	HostIP        string // "" = every address
	HostPort      int
	ContainerPort int
	Protocol      string // "tcp" (default) or "udp"
}

// ContainerSpec describes a container to create.
type ContainerSpec struct {
	Name    string // unique container name (at least two characters)
	Image   string
	Labels  map[string]string
	Command []string // replaces the image's CMD; nil keeps it
	Env     []string // NAME=value
	// WorkingDir, when set, is the process's working directory.
	WorkingDir string
	Hostname   string
	// NetworkMode "" gives the container its own network namespace on the
	// engine's default bridge; the name of a network made by EnsureNetwork
	// gives it its own namespace on that network (ports and hostname apply
	// as for ""); "container:<id>" joins another container's.
	NetworkMode string
	Ports       []PortBinding
	CPUShares   int64 // relative weight, 0 = default
	CPUQuota    int64 // microseconds per CPUPeriod, 0 = no quota
	CPUPeriod   int64 // microseconds, 0 = engine default when CPUQuota is set
	Memory      int64 // bytes, 0 = unlimited
	// Mounts bind host paths into the container; missing host directories
	// are created.
	Mounts     []Mount
	Privileged bool
}

// Mount binds host path HostPath at ContainerPath. Both are absolute and
// contain no ':' (a runtime refuses the container otherwise): the only
// mount option is ReadOnly, so none can be injected through a path.
type Mount struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
}

// Validate returns why m cannot be mounted, or nil: both paths must be
// absolute, without ':' (Docker's option separator: "/etc:/x:rshared"),
// NUL, or a ".." element. Every runtime calls it in Create.
func (m Mount) Validate() error {
	for _, p := range []string{m.HostPath, m.ContainerPath} {
		q := strconv.Quote(p)
		switch {
		case !path.IsAbs(p):
			return fmt.Errorf("mount path %s: not absolute", q)
		case strings.ContainsAny(p, ":\x00"):
			return fmt.Errorf("mount path %s: contains ':' or NUL (mount options come only from readOnly)", q)
		}
		for _, el := range strings.Split(p, "/") {
			if el == ".." {
				return fmt.Errorf("mount path %s: contains a '..' element", q)
			}
		}
	}
	return nil
}

// ListOptions narrows List.
type ListOptions struct {
	// PodUID, when set, lists only that pod's containers.
	PodUID string
	// Labels, when set, lists only containers carrying every one of them.
	Labels map[string]string
	// Running, when true, lists only running containers.
	Running bool
}

// LogOptions selects what Logs writes.
type LogOptions struct {
	Follow     bool
	Tail       int // lines from the end; <= 0 means all
	Timestamps bool
}

// ExecResult is the outcome of a command run in a container.
type ExecResult struct {
	ExitCode int
	Output   []byte // stdout and stderr interleaved
}

// Stats is a point-in-time resource usage sample of a container.
type Stats struct {
	Time          time.Time `json:"time"`
	CPUUsageNanos uint64    `json:"cpuUsageNanos"`
	MemoryBytes   uint64    `json:"memoryBytes"`
	MemoryLimit   uint64    `json:"memoryLimit,omitempty"`
}

// ImageBuild describes an image built from a local context.
type ImageBuild struct {
	Tag        string
	Dockerfile string
	// Files maps a name in the build context to a host file copied there
	// (mode kept).
	Files map[string]string
}

// NetworkSpec describes a bridge network for pods (see EnsureNetwork).
type NetworkSpec struct {
	// Name is the engine's name for the network.
	Name string
	// Bridge is the Linux bridge device's name (1 to 15 characters).
	Bridge string
	// Subnet is an IPv4 prefix ("10.244.1.0/24") containers get addresses from.
	Subnet string
	// Gateway is the bridge's own address in Subnet; "" = the subnet's
	// first address (10.244.1.1).
	Gateway string
	// Labels are put on the network besides LabelManaged.
	Labels map[string]string
}

// Network is what the runtime reports of a network EnsureNetwork made.
type Network struct {
	ID      string
	Name    string
	Bridge  string
	Subnet  string
	Gateway string
	Labels  map[string]string
	// Recreated is true when EnsureNetwork replaced a network of the same
	// name whose settings differed (its containers lost their address on it).
	Recreated bool
}

// Event tells that a managed container stopped running (died, was killed or
// stopped), so the kubelet can react at once instead of at its next resync.
type Event struct {
	ContainerID string
	Labels      map[string]string
}

// Runtime is the container runtime the kubelet drives. See the package doc.
type Runtime interface {
	// List returns managed containers.
	List(ctx context.Context, opts ListOptions) ([]Container, error)
	// Inspect returns one managed container, or ErrNotFound.
	Inspect(ctx context.Context, id string) (Container, error)
	// HasImage reports whether image is present locally.
	HasImage(ctx context.Context, image string) (bool, error)
	// PullImage fetches image from its registry.
	PullImage(ctx context.Context, image string) error
	// Create creates a container without starting it (ErrImageNotPresent
	// when the image is absent). A container may join the network of one
	// that is created but not yet started: the kubelet creates a pod's app
	// containers while its infra container starts.
	Create(ctx context.Context, spec ContainerSpec) (string, error)
	// Start starts a created container; if that fails, the container is
	// removed and the error returned.
	Start(ctx context.Context, id string) error
	// Stop stops a container: SIGTERM, then kill after grace.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Remove removes a container, killing it first if running.
	Remove(ctx context.Context, id string) error
	// Logs writes the container's output to w; with Follow it returns when
	// the container exits or ctx ends.
	Logs(ctx context.Context, id string, opts LogOptions, w io.Writer) error
	// Exec runs cmd inside a running container and waits for it.
	Exec(ctx context.Context, id string, cmd []string) (ExecResult, error)
	// Stats samples a running container's resource usage.
	Stats(ctx context.Context, id string) (Stats, error)
	// BuildImage builds an image from a Dockerfile and local files.
	BuildImage(ctx context.Context, b ImageBuild) error
	// Events streams an Event each time a managed container stops running.
	// The channel closes when ctx ends or the stream breaks (subscribe
	// again; events in between may be lost, a resync covers them).
	Events(ctx context.Context) (<-chan Event, error)
	// EnsureNetwork makes the bridge network spec.Name exist with exactly
	// spec's bridge, subnet and gateway, and returns it. See the package doc.
	EnsureNetwork(ctx context.Context, spec NetworkSpec) (Network, error)
	// RemoveNetwork removes the managed network name; it fails while
	// running containers are attached to it. A missing network is not an
	// error.
	RemoveNetwork(ctx context.Context, name string) error
}

// ErrNetworkNotManaged is returned when a network of the requested name
// exists but kubelite did not create it: it is never changed or removed.
var ErrNetworkNotManaged = errors.New("network exists and was not created by kubelite")

// CheckNetworkSpec validates spec and fills in the default gateway.
func CheckNetworkSpec(spec NetworkSpec) (NetworkSpec, error) {
	if spec.Name == "" {
		return spec, errors.New("network: a name is required")
	}
	if n := len(spec.Bridge); n == 0 || n > 15 || strings.ContainsAny(spec.Bridge, "/ \t\n:") {
		return spec, fmt.Errorf("network %s: bridge name %q must be 1 to 15 characters without '/', ':' or blanks", spec.Name, spec.Bridge)
	}
	p, err := netip.ParsePrefix(spec.Subnet)
	if err != nil || !p.Addr().Is4() || p.Bits() > 30 {
		return spec, fmt.Errorf("network %s: subnet %q: want an IPv4 prefix of at most /30", spec.Name, spec.Subnet)
	}
	if p.Masked() != p {
		return spec, fmt.Errorf("network %s: subnet %q is not a network address (did you mean %s?)", spec.Name, spec.Subnet, p.Masked())
	}
	if spec.Gateway == "" {
		spec.Gateway = p.Addr().Next().String()
	}
	g, err := netip.ParseAddr(spec.Gateway)
	if err != nil || !p.Contains(g) || g == p.Addr() {
		return spec, fmt.Errorf("network %s: gateway %q is not a host address in %s", spec.Name, spec.Gateway, spec.Subnet)
	}
	return spec, nil
}
