package api

import "strings"

// SetDefaults fills the defaults of a new or updated object in place, as the
// v1beta1 API does before validation:
//   - pods (and RC pod templates): manifest version v1beta1, manifest id =
//     pod id (pods only), restartPolicy always, container imagePullPolicy
//     PullIfNotPresent, port protocol TCP (upper-cased when given), a
//     volume without a source is an emptyDir;
//   - services: protocol TCP, sessionAffinity None, containerPort = port.
//
// A minion's kubeletPort is left 0 when not given: readers fall back to
// their --kubelet_port, which a stored 10250 would override.
//
// It never fails; validation reports what defaults cannot fix.
func SetDefaults(obj Object) {
	switch o := obj.(type) {
	case *Pod:
		defaultManifest(&o.DesiredState.Manifest)
		if o.DesiredState.Manifest.ID == "" {
			o.DesiredState.Manifest.ID = o.ID
		}
	case *ReplicationController:
		defaultManifest(&o.DesiredState.PodTemplate.DesiredState.Manifest)
	case *Service:
		o.Protocol = defaultProtocol(o.Protocol)
		if o.SessionAffinity == "" {
			o.SessionAffinity = AffinityNone
		}
		if o.ContainerPort.IsZero() {
			o.ContainerPort = NewIntOrStringFromInt(o.Port)
		}
	}
}

func defaultProtocol(p string) string {
	if p == "" {
		return "TCP"
	}
	if u := strings.ToUpper(p); u == "TCP" || u == "UDP" {
		return u
	}
	return p
}

func defaultManifest(m *ContainerManifest) {
	if m.Version == "" {
		m.Version = APIVersion
	}
	rp := &m.RestartPolicy
	if rp.Always == nil && rp.OnFailure == nil && rp.Never == nil {
		rp.Always = &RestartPolicyAlways{}
	}
	for i := range m.Volumes {
		if m.Volumes[i].Source == nil {
			m.Volumes[i].Source = &VolumeSource{EmptyDir: &EmptyDir{}}
		}
	}
	for i := range m.Containers {
		c := &m.Containers[i]
		if c.ImagePullPolicy == "" {
			c.ImagePullPolicy = PullIfNotPresent
		}
		for j := range c.Ports {
			c.Ports[j].Protocol = defaultProtocol(c.Ports[j].Protocol)
		}
	}
}
