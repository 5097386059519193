// Package admission decides whether a pod spec may run on a host: the
// checks that stop a pod from taking over the minion it lands on (issue 11
// item 7, issue 17 item 2). It is pure (no I/O): the master's registry runs
// it on every create and update of a pod and of a replication controller's
// pod template (422 Invalid naming each field), and every kubelet runs it
// again, with its own policy, before it creates any container of a pod.
//
// Policy{AllowPrivileged, Protected}; the zero value is the safe default:
//   - a container with privileged: true is refused unless AllowPrivileged
//     (the master's and the minion's --allow_privileged);
//   - a hostDir path is refused when it is empty or relative, contains ':'
//     (Docker would read what follows as bind options: "/etc:/x:rshared"),
//     a NUL byte or a ".." element (checked on the raw string), or is not
//     already clean ("//", "/./", a trailing "/");
//   - then, once clean, it is refused when it is, or is above, or is below
//     a protected path of the first list, and when it is, or is above, a
//     path of the second list;
//   - a volumeMount's mountPath follows the same syntax rules (absolute, no
//     ':', no NUL, no ".." element), so mount options come only from the
//     API's readOnly field.
//
// Protected with everything above and below them (FullyProtected, plus
// Policy.Protected: the lead passes the master's --data-dir and the
// kubelet's --root-dir; a kubelet adds its own root dir itself):
//
//	/proc /sys /dev /boot /root /run /var/run
//	/usr /bin /sbin /lib /lib32 /lib64 /libx32
//	/var/lib/docker /var/lib/containerd /var/lib/kubelet /var/lib/kubelite
//	/var/spool/cron
//	/etc/kubernetes /etc/docker /etc/containerd /etc/systemd /etc/ssh
//	/etc/cron.d /etc/crontab /etc/sudoers /etc/sudoers.d /etc/pam.d
//	/etc/passwd /etc/shadow /etc/group /etc/gshadow /etc/ld.so.preload
//	/etc/ld.so.conf.d /etc/profile.d /etc/init.d /etc/modprobe.d
//
// and any path whose last element ends in ".sock" (the engine's socket,
// wherever it lives: /var/run/docker.sock, /run/containerd/containerd.sock,
// a relocated docker.sock).
//
// Protected with everything above them only (RootsProtected): "/" (above
// everything), "/etc", "/home", "/var", "/var/lib", "/usr/local", "/opt".
// Their children stay allowed, so the tutorial's hostDirs "/etc/httpd/conf",
// "/etc/httpd/conf.d" and "/data" pass.
//
// /run and /var/run are fully protected because every runtime and init
// socket lives there (docker, containerd, systemd's private socket);
// /usr, /bin, /sbin and /lib because a writable binary root runs is root.
//
// What this is not: a sandbox. It is a deny list that closes the known
// routes to the host (the engine, the kernel's files, the credentials, the
// binaries and the scheduled jobs root runs); a host directory that is not
// listed is handed over as asked. Symbolic links are a minion matter: the
// master cannot see the minion's filesystem, so the kubelet resolves a
// hostDir on its host and checks the resolved path again (HostPath), then
// binds that resolved path.
package admission
