package api

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Validation of the v1beta1 objects. Validate returns every problem as a
// StatusCause naming the JSON path of the field ("desiredState.manifest.
// containers[0].image"); ValidationError wraps them into the 422 Invalid
// StatusError the API answers. Names:
//   - ids of pods, RCs, endpoints and namespaces are DNS-1123 labels
//     ([a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters);
//   - service ids are DNS-952 labels (they also start with a letter: they
//     become environment variable names), at most 63 characters;
//   - minion and event ids are DNS-1123 subdomains (dot-separated labels, at
//     most 253 characters): minions are often named by their IP;
//   - label and annotation keys are an optional DNS-1123 subdomain prefix and
//     "/" followed by a name of at most 63 characters of [A-Za-z0-9-_.]
//     starting and ending alphanumeric; label values are empty or such a name.

const (
	// DNS1123LabelMaxLength is the longest DNS-1123 label.
	DNS1123LabelMaxLength = 63
	// DNS1123SubdomainMaxLength is the longest DNS-1123 subdomain.
	DNS1123SubdomainMaxLength = 253
	// QualifiedNameMaxLength is the longest name part of a label key.
	QualifiedNameMaxLength = 63
	// LabelValueMaxLength is the longest label value.
	LabelValueMaxLength = 63
)

// IsDNS1123Label reports whether s is a DNS-1123 label of at most 63 characters.
func IsDNS1123Label(s string) bool {
	return len(s) <= DNS1123LabelMaxLength && isDNS1123LabelChars(s)
}

// IsDNS952Label reports whether s is a DNS-952 label (starts with a letter) of at most 63 characters.
func IsDNS952Label(s string) bool {
	return len(s) <= DNS1123LabelMaxLength && isDNS952LabelChars(s)
}

// IsDNS1123Subdomain reports whether s is a DNS-1123 subdomain of at most 253 characters.
func IsDNS1123Subdomain(s string) bool {
	return len(s) <= DNS1123SubdomainMaxLength && isDNS1123SubdomainChars(s)
}

// IsQualifiedName reports whether s is a valid label or annotation key:
// [prefix/]name, prefix a DNS-1123 subdomain, name at most 63 characters.
func IsQualifiedName(s string) bool {
	prefix, name, hasPrefix := strings.Cut(s, "/")
	if !hasPrefix {
		name, prefix = prefix, ""
	} else if !IsDNS1123Subdomain(prefix) {
		return false
	}
	return len(name) <= QualifiedNameMaxLength && isQualifiedNameChars(name)
}

// IsValidLabelValue reports whether s is empty or a name of at most 63 characters.
func IsValidLabelValue(s string) bool {
	return s == "" || len(s) <= LabelValueMaxLength && isQualifiedNameChars(s)
}

// ValidationError returns the 422 Invalid error for causes, or nil if there are none.
func ValidationError(obj Object, causes []StatusCause) error {
	if len(causes) == 0 {
		return nil
	}
	kind := obj.Meta().Kind
	if r, err := ResourceOf(obj); err == nil {
		kind = r.Kind()
	}
	return NewInvalid(kind, obj.Meta().ID, causes)
}

// errs accumulates causes.
type errs []StatusCause

func (e *errs) add(reason, field, msg string, args ...any) {
	*e = append(*e, StatusCause{Reason: reason, Field: field, Message: fmt.Sprintf(msg, args...)})
}
func (e *errs) required(field string)               { e.add(CauseRequired, field, "required") }
func (e *errs) invalid(field, msg string, a ...any) { e.add(CauseInvalid, field, msg, a...) }

const (
	msgDNS1123Label     = "must be a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
	msgDNS952Label      = "must be a DNS-952 label: at most 63 lower-case letters, digits and '-', starting with a letter and ending with a letter or digit"
	msgDNS1123Subdomain = "must be a DNS-1123 subdomain: at most 253 characters, dot-separated DNS-1123 labels"
)

func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return strconv.Quote(s)
}

// Validate checks obj as a create would and returns every problem found.
// Defaults (SetDefaults) are expected to have been applied first.
func Validate(obj Object) []StatusCause {
	var e errs
	// Whether the namespace is checked is the resource's row's Namespaced.
	res, _ := ResourceOf(obj)
	namespaced := res.Namespaced()
	switch o := obj.(type) {
	case *Pod:
		validateMeta(&e, &o.TypeMeta, IsDNS1123Label, msgDNS1123Label, namespaced)
		// A manifest id defaulted from a bad pod id is reported once, as id.
		validateManifest(&e, "desiredState.manifest", &o.DesiredState.Manifest, o.DesiredState.Manifest.ID == o.ID)
		validateLabels(&e, "nodeSelector", o.NodeSelector)
	case *ReplicationController:
		validateMeta(&e, &o.TypeMeta, IsDNS1123Label, msgDNS1123Label, namespaced)
		validateRC(&e, o)
	case *Service:
		validateMeta(&e, &o.TypeMeta, IsDNS952Label, msgDNS952Label, namespaced)
		validateService(&e, o)
	case *Endpoints:
		validateMeta(&e, &o.TypeMeta, IsDNS1123Label, msgDNS1123Label, namespaced)
		for i, ep := range o.Endpoints {
			host, port, err := net.SplitHostPort(ep)
			if err != nil || net.ParseIP(host) == nil || !validPort(port) {
				e.invalid(fmt.Sprintf("endpoints[%d]", i), "%s must be ip:port with a port in 1-65535", quote(ep))
			}
		}
	case *Minion:
		validateMeta(&e, &o.TypeMeta, IsDNS1123Subdomain, msgDNS1123Subdomain, namespaced)
		if o.HostIP != "" && net.ParseIP(o.HostIP) == nil {
			e.invalid("hostIP", "%s is not an IP address", quote(o.HostIP))
		}
		if o.Resources.Capacity.CPU < 0 {
			e.invalid("resources.capacity.cpu", "must not be negative")
		}
		if o.Resources.Capacity.Memory < 0 {
			e.invalid("resources.capacity.memory", "must not be negative")
		}
		if o.KubeletPort < 0 || o.KubeletPort > 65535 {
			e.invalid("kubeletPort", "%d is not in 1-65535", o.KubeletPort)
		}
		if o.PodCIDR != "" {
			if _, _, err := net.ParseCIDR(o.PodCIDR); err != nil {
				e.invalid("podCIDR", "%s is not a CIDR", quote(o.PodCIDR))
			}
		}
	case *Event:
		validateMeta(&e, &o.TypeMeta, IsDNS1123Subdomain, msgDNS1123Subdomain, namespaced)
	case *Binding:
		if o.PodID == "" {
			e.required("podID")
		} else if !IsDNS1123Label(o.PodID) {
			e.invalid("podID", "%s %s", quote(o.PodID), msgDNS1123Label)
		}
		if o.Host == "" {
			e.required("host")
		} else if !IsDNS1123Subdomain(o.Host) {
			e.invalid("host", "%s %s", quote(o.Host), msgDNS1123Subdomain)
		}
		if o.Namespace != "" && !IsDNS1123Label(o.Namespace) {
			e.invalid("namespace", "%s %s", quote(o.Namespace), msgDNS1123Label)
		}
	default:
		e.invalid("kind", "%T cannot be stored", obj)
	}
	return e
}

func validateMeta(e *errs, m *TypeMeta, ok func(string) bool, msg string, namespaced bool) {
	switch {
	case m.ID == "":
		e.required("id")
	case !ok(m.ID):
		e.invalid("id", "%s %s", quote(m.ID), msg)
	}
	if namespaced && m.Namespace != "" && !IsDNS1123Label(m.Namespace) {
		e.invalid("namespace", "%s %s", quote(m.Namespace), msgDNS1123Label)
	}
	validateLabels(e, "labels", m.Labels)
	for k := range m.Annotations {
		if !IsQualifiedName(k) {
			e.invalid("annotations", "key %s is not a valid name: [prefix/]name, name at most 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric", quote(k))
		}
	}
}

func validateLabels(e *errs, field string, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		v := labels[k]
		if !IsQualifiedName(k) {
			e.invalid(field, "key %s is not a valid label key: [prefix/]name, prefix a DNS-1123 subdomain, name at most 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric", quote(k))
		}
		if !IsValidLabelValue(v) {
			e.invalid(field+"."+k, "value %s is not a valid label value: empty, or at most 63 characters of [A-Za-z0-9-_.] starting and ending alphanumeric", quote(v))
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

// validateManifest checks a container manifest in phases: its header
// (version, id), its volumes, its restart policy, then each container
// (name, image, resources, ports, env, mounts, probe). Host ports are
// checked across all containers of the manifest.
func validateManifest(e *errs, path string, m *ContainerManifest, skipID bool) {
	validateManifestHeader(e, path, m, skipID)
	volumes := validateVolumes(e, path, m.Volumes)
	validateRestartPolicy(e, path+".restartPolicy", m.RestartPolicy)
	names := map[string]bool{}
	hostPorts := map[string]string{}
	for i := range m.Containers {
		f := fmt.Sprintf("%s.containers[%d]", path, i)
		validateContainer(e, f, &m.Containers[i], names, volumes, hostPorts)
	}
}

func validateManifestHeader(e *errs, path string, m *ContainerManifest, skipID bool) {
	switch m.Version {
	case "v1beta1", "v1beta2":
	case "":
		e.required(path + ".version")
	default:
		e.add(CauseNotSupported, path+".version", "%s is not supported (v1beta1 or v1beta2)", quote(m.Version))
	}
	if m.ID != "" && !skipID && !IsDNS1123Subdomain(m.ID) {
		e.invalid(path+".id", "%s %s", quote(m.ID), msgDNS1123Subdomain)
	}
}

// validateVolumes checks the manifest's volumes and returns the set of
// their names, which volume mounts must refer to.
func validateVolumes(e *errs, path string, vols []Volume) map[string]bool {
	volumes := map[string]bool{}
	for i, v := range vols {
		f := fmt.Sprintf("%s.volumes[%d]", path, i)
		switch {
		case v.Name == "":
			e.required(f + ".name")
		case !IsDNS1123Label(v.Name):
			e.invalid(f+".name", "%s %s", quote(v.Name), msgDNS1123Label)
		case volumes[v.Name]:
			e.add(CauseDuplicate, f+".name", "volume %s is declared twice", quote(v.Name))
		}
		volumes[v.Name] = true
		if v.Source != nil {
			if v.Source.HostDir != nil && v.Source.EmptyDir != nil {
				e.invalid(f+".source", "only one of hostDir and emptyDir may be set")
			}
			if v.Source.HostDir != nil && !strings.HasPrefix(v.Source.HostDir.Path, "/") {
				e.invalid(f+".source.hostDir.path", "%s must be an absolute path", quote(v.Source.HostDir.Path))
			}
		}
	}
	return volumes
}

func validateRestartPolicy(e *errs, f string, rp RestartPolicy) {
	n := 0
	for _, set := range []bool{rp.Always != nil, rp.OnFailure != nil, rp.Never != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		e.invalid(f, "only one of always, onFailure and never may be set")
	}
}

// validateContainer checks one container; names collects the manifest's
// container names so far, hostPorts its host ports so far.
func validateContainer(e *errs, f string, c *Container, names, volumes map[string]bool, hostPorts map[string]string) {
	switch {
	case c.Name == "":
		e.required(f + ".name")
	case !IsDNS1123Label(c.Name):
		e.invalid(f+".name", "%s %s", quote(c.Name), msgDNS1123Label)
	case names[c.Name]:
		e.add(CauseDuplicate, f+".name", "container name %s is used twice", quote(c.Name))
	}
	names[c.Name] = true
	if strings.TrimSpace(c.Image) == "" {
		e.required(f + ".image")
	}
	if c.CPU < 0 {
		e.invalid(f+".cpu", "must not be negative")
	}
	if c.Memory < 0 {
		e.invalid(f+".memory", "must not be negative")
	}
	switch c.ImagePullPolicy {
	case "", PullAlways, PullNever, PullIfNotPresent:
	default:
		e.add(CauseNotSupported, f+".imagePullPolicy", "%s is not one of PullAlways, PullNever, PullIfNotPresent", quote(c.ImagePullPolicy))
	}
	validatePorts(e, f, c.Ports, hostPorts)
	validateEnv(e, f, c.Env)
	validateVolumeMounts(e, f, c.VolumeMounts, volumes)
	if lp := c.LivenessProbe; lp != nil {
		validateProbe(e, f+".livenessProbe", lp)
	}
}

func validatePorts(e *errs, f string, ports []Port, hostPorts map[string]string) {
	portNames := map[string]bool{}
	for j, p := range ports {
		pf := fmt.Sprintf("%s.ports[%d]", f, j)
		if p.Name != "" {
			if !IsDNS1123Label(p.Name) {
				e.invalid(pf+".name", "%s %s", quote(p.Name), msgDNS1123Label)
			} else if portNames[p.Name] {
				e.add(CauseDuplicate, pf+".name", "port name %s is used twice", quote(p.Name))
			}
			portNames[p.Name] = true
		}
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			e.invalid(pf+".containerPort", "%d is not in 1-65535", p.ContainerPort)
		}
		if p.HostPort < 0 || p.HostPort > 65535 {
			e.invalid(pf+".hostPort", "%d is not in 1-65535", p.HostPort)
		}
		switch p.Protocol {
		case "TCP", "UDP", "":
		default:
			e.add(CauseNotSupported, pf+".protocol", "%s is not TCP or UDP", quote(p.Protocol))
		}
		if p.HostIP != "" && net.ParseIP(p.HostIP) == nil {
			e.invalid(pf+".hostIP", "%s is not an IP address", quote(p.HostIP))
		}
		if p.HostPort > 0 {
			proto := p.Protocol
			if proto == "" {
				proto = "TCP"
			}
			k := fmt.Sprintf("%d/%s", p.HostPort, proto)
			if prev, dup := hostPorts[k]; dup {
				e.add(CauseDuplicate, pf+".hostPort", "hostPort %s is also used by %s", k, prev)
			} else {
				hostPorts[k] = pf
			}
		}
	}
}

func validateEnv(e *errs, f string, env []EnvVar) {
	for j, v := range env {
		if v.Name == "" {
			e.required(fmt.Sprintf("%s.env[%d].name", f, j))
		} else if !isEnvVarName(v.Name) {
			e.invalid(fmt.Sprintf("%s.env[%d].name", f, j), "%s is not a valid environment variable name", quote(v.Name))
		}
	}
}

func validateVolumeMounts(e *errs, f string, mounts []VolumeMount, volumes map[string]bool) {
	for j, vm := range mounts {
		vf := fmt.Sprintf("%s.volumeMounts[%d]", f, j)
		switch {
		case vm.Name == "":
			e.required(vf + ".name")
		case !volumes[vm.Name]:
			e.add(CauseNotSupported, vf+".name", "%s is not a volume of the pod", quote(vm.Name))
		}
		if vm.MountPath == "" {
			e.required(vf + ".mountPath")
		} else if !strings.HasPrefix(vm.MountPath, "/") {
			e.invalid(vf+".mountPath", "%s must be an absolute path", quote(vm.MountPath))
		}
	}
}

func validateProbe(e *errs, f string, lp *LivenessProbe) {
	n := 0
	if lp.HTTPGet != nil {
		n++
		validateProbePort(e, f+".httpGet.port", lp.HTTPGet.Port)
	}
	if lp.TCPSocket != nil {
		n++
		validateProbePort(e, f+".tcpSocket.port", lp.TCPSocket.Port)
	}
	if lp.Exec != nil {
		n++
		if len(lp.Exec.Command) == 0 {
			e.required(f + ".exec.command")
		}
	}
	if n != 1 {
		e.invalid(f, "exactly one of httpGet, tcpSocket and exec must be set")
	}
	if lp.InitialDelaySeconds < 0 {
		e.invalid(f+".initialDelaySeconds", "must not be negative")
	}
	if lp.TimeoutSeconds < 0 {
		e.invalid(f+".timeoutSeconds", "must not be negative")
	}
}

func validateProbePort(e *errs, f string, p IntOrString) {
	if p.Kind == IntstrString {
		if !IsDNS1123Label(p.StrVal) {
			e.invalid(f, "%s must be a port number or a port name", quote(p.StrVal))
		}
		return
	}
	if p.IntVal < 1 || p.IntVal > 65535 {
		e.invalid(f, "%d is not in 1-65535", p.IntVal)
	}
}

func validateRC(e *errs, rc *ReplicationController) {
	ds := &rc.DesiredState
	if ds.Replicas < 0 {
		e.invalid("desiredState.replicas", "%d must not be negative", ds.Replicas)
	}
	tmpl := &ds.PodTemplate
	if len(ds.ReplicaSelector) == 0 {
		e.required("desiredState.replicaSelector")
	} else {
		validateLabels(e, "desiredState.replicaSelector", ds.ReplicaSelector)
		if !SelectorFromSet(ds.ReplicaSelector).Matches(tmpl.Labels) {
			e.invalid("desiredState.podTemplate.labels", "the template's labels %s do not match the replicaSelector %s: the controller would never see its own pods",
				quote(SelectorFromSet(tmpl.Labels).String()), quote(SelectorFromSet(ds.ReplicaSelector).String()))
		}
	}
	validateLabels(e, "desiredState.podTemplate.labels", tmpl.Labels)
	validateLabels(e, "desiredState.podTemplate.nodeSelector", tmpl.NodeSelector)
	validateManifest(e, "desiredState.podTemplate.desiredState.manifest", &tmpl.DesiredState.Manifest, false)
}

func validateService(e *errs, s *Service) {
	if s.Port < 1 || s.Port > 65535 {
		e.invalid("port", "%d is not in 1-65535", s.Port)
	}
	switch s.Protocol {
	case "TCP", "UDP":
	case "":
		e.required("protocol")
	default:
		e.add(CauseNotSupported, "protocol", "%s is not TCP or UDP", quote(s.Protocol))
	}
	if len(s.Selector) == 0 {
		e.required("selector")
	} else {
		validateLabels(e, "selector", s.Selector)
	}
	if s.ContainerPort.Kind == IntstrString {
		if !IsDNS1123Label(s.ContainerPort.StrVal) {
			e.invalid("containerPort", "%s must be a port number or a port name", quote(s.ContainerPort.StrVal))
		}
	} else if s.ContainerPort.IntVal < 0 || s.ContainerPort.IntVal > 65535 {
		e.invalid("containerPort", "%d is not in 1-65535", s.ContainerPort.IntVal)
	}
	if s.PortalIP != "" {
		if ip := net.ParseIP(s.PortalIP); ip == nil || ip.To4() == nil {
			e.invalid("portalIP", "%s is not an IPv4 address", quote(s.PortalIP))
		}
	}
	for i, ip := range s.PublicIPs {
		if net.ParseIP(ip) == nil {
			e.invalid(fmt.Sprintf("publicIPs[%d]", i), "%s is not an IP address", quote(ip))
		}
	}
	switch s.SessionAffinity {
	case "", AffinityNone, AffinityClientIP:
	default:
		e.add(CauseNotSupported, "sessionAffinity", "%s is not None or ClientIP", quote(s.SessionAffinity))
	}
}
