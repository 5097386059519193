package registry

import (
	"reflect"

	"kubelite/internal/api"
)

// admit appends to causes the admission causes (Config.Admission) of obj, a
// pod or a replication controller, skipping fields validation already
// named. On update, old is the stored object: a pod spec that the update
// leaves as it was is not checked again, so status writes (the kubelet's,
// the replication manager's) of objects admitted under an older policy
// still go through; any change to the spec is checked in full.
func (r *Registry) admit(obj, old api.Object, causes []api.StatusCause) []api.StatusCause {
	if old != nil && reflect.DeepEqual(podSpec(obj), podSpec(old)) {
		return causes
	}
	named := make(map[string]bool, len(causes))
	for _, c := range causes {
		named[c.Field] = true
	}
	for _, c := range r.admission.Object(obj) {
		if !named[c.Field] {
			causes = append(causes, c)
		}
	}
	return causes
}

// podSpec is the manifest admission looks at, or nil for other kinds.
func podSpec(obj api.Object) *api.ContainerManifest {
	switch o := obj.(type) {
	case *api.Pod:
		return &o.DesiredState.Manifest
	case *api.ReplicationController:
		return &o.DesiredState.PodTemplate.DesiredState.Manifest
	}
	return nil
}
