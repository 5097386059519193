package admission

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"kubelite/internal/api"
)

// FullyProtected are refused as hostDirs with every path above and below them.
var FullyProtected = []string{
	"/proc", "/sys", "/dev", "/boot", "/root", "/run", "/var/run",
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/var/lib/docker", "/var/lib/containerd", api.DefaultKubeletRootDir, api.DefaultDataDir,
	"/var/spool/cron",
	"/etc/kubernetes", "/etc/docker", "/etc/containerd", "/etc/systemd", "/etc/ssh",
	"/etc/cron.d", "/etc/crontab", "/etc/sudoers", "/etc/sudoers.d", "/etc/pam.d",
	"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", "/etc/ld.so.preload",
	"/etc/ld.so.conf.d", "/etc/profile.d", "/etc/init.d", "/etc/modprobe.d",
}

// RootsProtected are refused as hostDirs with every path above them; what
// is below them stays allowed.
var RootsProtected = []string{"/", "/etc", "/home", "/var", "/var/lib", "/usr/local", "/opt"}

// Policy is what a master or a minion admits; the zero value refuses
// privileged containers and protects only the built-in paths.
type Policy struct {
	// AllowPrivileged admits containers with privileged: true.
	AllowPrivileged bool
	// Protected are more paths refused with everything above and below
	// them (the master's data dir, the kubelet's root dir). Relative or
	// empty entries are ignored; entries are cleaned.
	Protected []string
}

// Object checks the pod spec of a pod (desiredState.manifest) or of a
// replication controller's template (desiredState.podTemplate.desiredState.
// manifest); other kinds have none and pass.
func (p Policy) Object(obj api.Object) []api.StatusCause {
	switch o := obj.(type) {
	case *api.Pod:
		return p.Manifest("desiredState.manifest", &o.DesiredState.Manifest)
	case *api.ReplicationController:
		return p.Manifest("desiredState.podTemplate.desiredState.manifest", &o.DesiredState.PodTemplate.DesiredState.Manifest)
	}
	return nil
}

// Manifest checks m, whose JSON path is field, and returns one cause per
// refused field (nil when m is admitted).
func (p Policy) Manifest(field string, m *api.ContainerManifest) []api.StatusCause {
	var out []api.StatusCause
	add := func(reason, f, msg string) {
		out = append(out, api.StatusCause{Reason: reason, Field: f, Message: msg})
	}
	for i, v := range m.Volumes {
		if v.Source == nil || v.Source.HostDir == nil {
			continue
		}
		f := fmt.Sprintf("%s.volumes[%d].source.hostDir.path", field, i)
		if reason, msg := p.hostPath(v.Source.HostDir.Path); reason != "" {
			add(reason, f, msg)
		}
	}
	for i := range m.Containers {
		c := &m.Containers[i]
		f := fmt.Sprintf("%s.containers[%d]", field, i)
		if c.Privileged && !p.AllowPrivileged {
			add(api.CauseForbidden, f+".privileged", "privileged containers are refused: this cluster runs without --allow_privileged")
		}
		for j, vm := range c.VolumeMounts {
			if msg := checkSyntax(vm.MountPath); msg != "" {
				add(api.CauseInvalid, fmt.Sprintf("%s.volumeMounts[%d].mountPath", f, j), msg)
			}
		}
	}
	return out
}

// HostPath returns nil when path may be a hostDir, else an error saying why.
// A kubelet calls it again on the path with symbolic links resolved.
func (p Policy) HostPath(path string) error {
	if _, msg := p.hostPath(path); msg != "" {
		return fmt.Errorf("hostDir %s: %s", strconv.Quote(path), msg)
	}
	return nil
}

// MountPath returns nil when path may be a volumeMount's mountPath.
func MountPath(path string) error {
	if msg := checkSyntax(path); msg != "" {
		return fmt.Errorf("mountPath %s: %s", strconv.Quote(path), msg)
	}
	return nil
}

// hostPath returns a cause reason and message, or "" when path is admitted.
func (p Policy) hostPath(path string) (reason, msg string) {
	if msg := checkSyntax(path); msg != "" {
		return api.CauseInvalid, msg
	}
	if filepath.Clean(path) != path {
		return api.CauseInvalid, fmt.Sprintf("%s is not a clean path (want %s)", strconv.Quote(path), strconv.Quote(filepath.Clean(path)))
	}
	if strings.HasSuffix(filepath.Base(path), ".sock") {
		return api.CauseForbidden, fmt.Sprintf("%s is a socket path: a container engine's socket hands over the host", strconv.Quote(path))
	}
	full := FullyProtected
	for _, x := range p.Protected {
		if filepath.IsAbs(x) {
			full = append(full[:len(full):len(full)], filepath.Clean(x))
		}
	}
	for _, x := range full {
		switch {
		case path == x:
			return api.CauseForbidden, fmt.Sprintf("%s is protected: it would hand over the host", strconv.Quote(path))
		case isBelow(x, path):
			return api.CauseForbidden, fmt.Sprintf("%s contains the protected %s: it would hand over the host", strconv.Quote(path), strconv.Quote(x))
		case isBelow(path, x):
			return api.CauseForbidden, fmt.Sprintf("%s is inside the protected %s: it would hand over the host", strconv.Quote(path), strconv.Quote(x))
		}
	}
	for _, x := range RootsProtected {
		switch {
		case path == x:
			return api.CauseForbidden, fmt.Sprintf("%s is protected: it would hand over the host (a directory below it may be mounted)", strconv.Quote(path))
		case isBelow(x, path):
			return api.CauseForbidden, fmt.Sprintf("%s contains the protected %s: it would hand over the host", strconv.Quote(path), strconv.Quote(x))
		}
	}
	return "", ""
}

// isBelow reports whether clean absolute path p is strictly below dir.
func isBelow(p, dir string) bool {
	if dir == "/" {
		return p != "/"
	}
	return strings.HasPrefix(p, dir+"/")
}

// checkSyntax returns why path cannot be a bind path, or "": it must be
// absolute, without ':' (Docker's option separator), NUL, or a ".." element.
// The raw string is checked, before any cleaning.
func checkSyntax(path string) string {
	q := strconv.Quote(path)
	switch {
	case path == "":
		return "required: an absolute path"
	case !strings.HasPrefix(path, "/"):
		return q + " must be an absolute path"
	case strings.Contains(path, ":"):
		return q + " must not contain ':' (mount options come only from readOnly)"
	case strings.ContainsRune(path, 0):
		return q + " must not contain a NUL byte"
	}
	for _, el := range strings.Split(path, "/") {
		if el == ".." {
			return q + " must not contain a '..' element"
		}
	}
	return ""
}
