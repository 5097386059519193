package kubelet

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
)

// InfraName is the container-name label of a pod's infra container.
const InfraName = "POD"

// InfraStatusName is the key of the infra container in currentState.info.
const InfraStatusName = "net"

// LabelOwnNetwork is "true" on the app container of a pod that runs
// without an infra container (see Solo): it holds the pod's network
// namespace, address and hostname itself.
const LabelOwnNetwork = "io.kubelite.pod.own-network"

// Solo reports whether pod may run as its one app container alone, the
// container holding the pod's network itself: one container, no host port
// (those stay on an infra container, which the engine forwards them to), on
// a pod network. Its address is on a veth of that network, and a restarted
// container gets the address back (runtime/docker keeps a pod's address),
// so the pod keeps its IP as with an infra container; what it saves is a
// second container per pod. Decide also requires that no infra of the pod
// runs (a pod started with one keeps it).
func Solo(pod *api.Pod, nw PodNetwork) bool {
	cs := pod.DesiredState.Manifest.Containers
	if nw.Name == "" || len(cs) != 1 {
		return false
	}
	for _, p := range cs[0].Ports {
		if p.HostPort != 0 {
			return false
		}
	}
	return true
}

// HashSolo returns the hash of a solo pod's app container: its spec and what
// an infra would depend on (the pod's name, the pod network), so that a
// container started beside an infra, or on another network, is replaced.
func HashSolo(pod *api.Pod, c *api.Container, nw PodNetwork) string {
	b, _ := json.Marshal(struct {
		Container *api.Container
		Name      string
		Network   string
	}{c, pod.ID, nw.Name + "@" + nw.Subnet})
	h := fnv.New64a()
	h.Write([]byte("solo:"))
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 36)
}

// HashContainer returns a stable hash of a container's spec; a change
// replaces the container.
func HashContainer(c *api.Container) string {
	b, _ := json.Marshal(c)
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 36)
}

// infraPorts collects the port bindings of all containers of a pod.
func infraPorts(pod *api.Pod) []runtime.PortBinding {
	var out []runtime.PortBinding
	for _, c := range pod.DesiredState.Manifest.Containers {
		for _, p := range c.Ports {
			out = append(out, runtime.PortBinding{HostIP: p.HostIP, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: strings.ToLower(p.Protocol)})
		}
	}
	return out
}

// PodNetwork is the network a pod's infra container is on: the zero value
// is the engine's default bridge; else the pod network Name with Subnet
// (the minion's podCIDR).
type PodNetwork struct {
	Name   string
	Subnet string
}

// HashInfra returns the hash of what the infra container depends on: the
// pod's ports, its name (the hostname), the image and the pod network (a
// new podCIDR replaces the infra). The default network adds nothing, so
// its hashes are those of kubelets that had no pod network.
func HashInfra(pod *api.Pod, image string, nw PodNetwork) string {
	network := ""
	if nw.Name != "" {
		network = nw.Name + "@" + nw.Subnet
	}
	b, _ := json.Marshal(struct {
		Ports   []runtime.PortBinding
		Name    string
		Image   string
		Network string `json:",omitempty"`
	}{infraPorts(pod), pod.ID, image, network})
	h := fnv.New64a()
	h.Write(b)
	return strconv.FormatUint(h.Sum64(), 36)
}

// ContainerLabels are the labels of one container of pod.
func ContainerLabels(pod *api.Pod, name, hash string, attempt int) map[string]string {
	return map[string]string{
		runtime.LabelPodUID:        pod.UID,
		runtime.LabelPodNamespace:  namespaceOf(pod),
		runtime.LabelPodName:       pod.ID,
		runtime.LabelContainerName: name,
		runtime.LabelSpecHash:      hash,
		runtime.LabelAttempt:       strconv.Itoa(attempt),
	}
}

func namespaceOf(pod *api.Pod) string {
	if pod.Namespace == "" {
		return api.DefaultNamespace
	}
	return pod.Namespace
}

// containerName is the Docker name: unique per pod uid, container and attempt.
func containerName(pod *api.Pod, name string, attempt int) string {
	uid := pod.UID
	if len(uid) > 12 {
		uid = uid[:12]
	}
	return fmt.Sprintf("k8s_%s_%s_%s_%s_%d", name, pod.ID, namespaceOf(pod), uid, attempt)
}

// InfraSpec is the pod's infra container: holds the network namespace (on
// the pod network nw), every port binding and the hostname.
func InfraSpec(pod *api.Pod, image string, attempt int, nw PodNetwork) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Name:        containerName(pod, InfraName, attempt),
		Image:       image,
		Labels:      ContainerLabels(pod, InfraName, HashInfra(pod, image, nw), attempt),
		Hostname:    pod.ID,
		Ports:       infraPorts(pod),
		NetworkMode: nw.Name,
	}
}

// SpecOptions carry what AppSpec needs beyond the pod.
type SpecOptions struct {
	// InfraID is the infra container whose network the app joins; unless
	// Solo is set: then the app holds the pod's network itself, on Network.
	InfraID         string
	Solo            bool
	Network         PodNetwork
	RootDir         string
	Services        []*api.Service
	AllowPrivileged bool
	// HostPaths, when set, maps hostDir volume names to the host path to
	// bind (the admitted path with symbolic links resolved, see Admit).
	HostPaths map[string]string
}

// PodDir is where a pod's emptyDir volumes live.
func PodDir(rootDir, uid string) string { return filepath.Join(rootDir, "pods", uid) }

// AppSpec is the runtime spec of app container c of pod.
func AppSpec(pod *api.Pod, c *api.Container, attempt int, o SpecOptions) (runtime.ContainerSpec, error) {
	if c.Privileged && !o.AllowPrivileged {
		return runtime.ContainerSpec{}, fmt.Errorf("privileged container %q refused: this minion runs without --allow_privileged", c.Name)
	}
	mounts, err := Mounts(pod, c, o.RootDir, o.HostPaths)
	if err != nil {
		return runtime.ContainerSpec{}, err
	}
	spec := runtime.ContainerSpec{
		Name:        containerName(pod, c.Name, attempt),
		Image:       c.Image,
		Labels:      ContainerLabels(pod, c.Name, HashContainer(c), attempt),
		Command:     c.Command,
		Env:         Env(c, o.Services),
		WorkingDir:  c.WorkingDir,
		NetworkMode: "container:" + o.InfraID,
		Memory:      c.Memory,
		Mounts:      mounts,
		Privileged:  c.Privileged,
	}
	if o.Solo {
		spec.Labels[runtime.LabelSpecHash] = HashSolo(pod, c, o.Network)
		spec.Labels[LabelOwnNetwork] = "true"
		spec.NetworkMode = o.Network.Name
		spec.Hostname = pod.ID
		spec.Ports = infraPorts(pod)
	}
	if c.CPU > 0 {
		spec.CPUShares = max(c.CPU*1024/1000, 2)
		if c.CPUQuota {
			spec.CPUPeriod = 100000
			spec.CPUQuota = max(c.CPU*spec.CPUPeriod/1000, 1000)
		}
	}
	return spec, nil
}

// Mounts returns the bind mounts of c: hostDir volumes at hostPaths[name]
// (as they are when absent), emptyDir volumes as directories under
// root-dir/pods/<uid>/volumes/<name>. Options come only from readOnly: a
// path with ':' is refused here and by the runtime.
func Mounts(pod *api.Pod, c *api.Container, rootDir string, hostPaths map[string]string) ([]runtime.Mount, error) {
	var out []runtime.Mount
	for _, m := range c.VolumeMounts {
		var vol *api.Volume
		for i := range pod.DesiredState.Manifest.Volumes {
			if pod.DesiredState.Manifest.Volumes[i].Name == m.Name {
				vol = &pod.DesiredState.Manifest.Volumes[i]
			}
		}
		if vol == nil {
			return nil, fmt.Errorf("container %q mounts volume %q that the pod does not declare", c.Name, m.Name)
		}
		host := EmptyDirPath(rootDir, pod.UID, vol.Name)
		if vol.Source != nil && vol.Source.HostDir != nil {
			host = vol.Source.HostDir.Path
			if p, ok := hostPaths[vol.Name]; ok {
				host = p
			}
		}
		mnt := runtime.Mount{HostPath: host, ContainerPath: m.MountPath, ReadOnly: m.ReadOnly}
		if err := mnt.Validate(); err != nil {
			return nil, fmt.Errorf("container %q: volume %q: %w", c.Name, m.Name, err)
		}
		out = append(out, mnt)
	}
	return out, nil
}

// EmptyDirPath is the host directory of an emptyDir volume.
func EmptyDirPath(rootDir, uid, name string) string {
	return filepath.Join(PodDir(rootDir, uid), "volumes", name)
}

// EmptyDirs lists the host directories of a pod's emptyDir volumes.
func EmptyDirs(pod *api.Pod, rootDir string) []string {
	var out []string
	for _, v := range pod.DesiredState.Manifest.Volumes {
		if v.Source == nil || v.Source.HostDir == nil {
			out = append(out, EmptyDirPath(rootDir, pod.UID, v.Name))
		}
	}
	return out
}

// Env is the container's environment: the service variables of every
// service given, then the container's own env (which wins).
func Env(c *api.Container, services []*api.Service) []string {
	var out []string
	svcs := append([]*api.Service(nil), services...)
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].ID < svcs[j].ID })
	for _, s := range svcs {
		if s.PortalIP == "" || s.Port == 0 {
			continue
		}
		name := strings.ToUpper(strings.ReplaceAll(s.ID, "-", "_"))
		proto := strings.ToLower(s.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		port := strconv.Itoa(s.Port)
		url := fmt.Sprintf("%s://%s:%s", proto, s.PortalIP, port)
		pfx := fmt.Sprintf("%s_PORT_%s_%s", name, port, strings.ToUpper(proto))
		out = append(out,
			name+"_SERVICE_HOST="+s.PortalIP,
			name+"_SERVICE_PORT="+port,
			name+"_PORT="+url,
			pfx+"="+url,
			pfx+"_PROTO="+proto,
			pfx+"_PORT="+port,
			pfx+"_ADDR="+s.PortalIP,
		)
	}
	for _, e := range c.Env {
		out = append(out, e.Name+"="+e.Value)
	}
	return out
}
