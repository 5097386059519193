package kubelet

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"kubelite/internal/admission"
	"kubelite/internal/api"
)

// Admission on the minion: before it creates any container of a pod, the
// kubelet runs internal/admission again with its own policy
// (Config.AllowPrivileged; Config.Protected plus its RootDir), whatever the
// master admitted, and then resolves every hostDir's symbolic links on this
// host and checks the resolved path too: a pod that may write under /data
// could plant /data/x -> / for a second pod's hostDir /data/x. The resolved
// path is what gets bound. A refused pod gets no container (running ones are
// stopped, see Decide), every container of its status waits with reason
// "PodRefused: <why>", and one "refused" event is recorded per distinct
// reason.

// refusedReason prefixes the waiting reason of a refused pod's containers.
const refusedReason = "PodRefused"

// admissionPolicy is the kubelet's own policy.
func (k *Kubelet) admissionPolicy() admission.Policy {
	return admission.Policy{
		AllowPrivileged: k.cfg.AllowPrivileged,
		Protected:       append(append([]string(nil), k.cfg.Protected...), k.cfg.RootDir),
	}
}

// admit checks pod against the kubelet's policy and resolves its hostDir
// paths. It returns the host path to bind per hostDir volume name, or why
// the pod is refused.
func (k *Kubelet) admit(pod *api.Pod) (hostPaths map[string]string, refused string) {
	return Admit(k.admissionPolicy(), pod, k.cfg.ResolvePath)
}

// Admit is the kubelet's admission of pod under pol: the manifest checks,
// then every hostDir resolved by resolve (symbolic links followed on the
// host) and checked again. It returns the resolved path per hostDir volume,
// or a message naming each refused field.
func Admit(pol admission.Policy, pod *api.Pod, resolve func(string) (string, error)) (map[string]string, string) {
	var msgs []string
	for _, c := range pol.Manifest("desiredState.manifest", &pod.DesiredState.Manifest) {
		msgs = append(msgs, c.Field+": "+c.Message)
	}
	if len(msgs) > 0 {
		return nil, strings.Join(msgs, "; ")
	}
	paths := map[string]string{}
	for i, v := range pod.DesiredState.Manifest.Volumes {
		if v.Source == nil || v.Source.HostDir == nil {
			continue
		}
		f := fmt.Sprintf("desiredState.manifest.volumes[%d].source.hostDir.path", i)
		real, err := resolve(v.Source.HostDir.Path)
		if err == nil && real != v.Source.HostDir.Path {
			if herr := pol.HostPath(real); herr != nil {
				err = fmt.Errorf("resolves to %s", herr)
			}
		}
		if err != nil {
			msgs = append(msgs, f+": "+err.Error())
			continue
		}
		paths[v.Name] = real
	}
	if len(msgs) > 0 {
		return nil, strings.Join(msgs, "; ")
	}
	return paths, ""
}

// ResolveHostPath follows the symbolic links of path on this host: the
// longest existing prefix is resolved and the missing rest (the engine
// creates it) appended. A dangling symbolic link is refused: the engine
// would follow it where no check looked.
func ResolveHostPath(path string) (string, error) {
	p, rest := path, ""
	for {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("resolve %s: %w", p, err)
		}
		if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return "", fmt.Errorf("%s is a dangling symbolic link", p)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", fmt.Errorf("resolve %s: %w", path, err)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// noteRefusal records one "refused" event per distinct refusal of a pod
// (none while it stays refused for the same reason, so a sync every
// SyncFrequency does not flood events) and forgets it once admitted.
func (k *Kubelet) noteRefusal(ctx context.Context, key string, pod *api.Pod, refused string) {
	k.mu.Lock()
	prev := k.refused[key]
	if refused == "" {
		delete(k.refused, key)
	} else {
		k.refused[key] = refused
	}
	k.mu.Unlock()
	if refused != "" && refused != prev {
		k.event(ctx, pod, InfraName, EventRefused, "pod refused by this minion's admission: "+refused)
	}
}
