package docker

import (
	"kubelite/internal/runtime"
)

// binds renders mounts in the engine's "host:container[:ro]" form after
// runtime.Mount.Validate: a path holding ':' (the engine would read what
// follows as options such as rshared) is refused, so the only option ever
// written is ro, from Mount.ReadOnly. The kubelet's admission already
// refused such pods; this is the last line before the engine.
func binds(ms []runtime.Mount) ([]string, error) {
	var out []string
	for _, m := range ms {
		if err := m.Validate(); err != nil {
			return nil, err
		}
		b := m.HostPath + ":" + m.ContainerPath
		if m.ReadOnly {
			b += ":ro"
		}
		out = append(out, b)
	}
	return out, nil
}
