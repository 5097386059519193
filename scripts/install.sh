#!/bin/sh
# Install kubelite as a service, the way the tutorial installs Kubernetes:
# the binary, a kubectl symlink, systemd units kubelite-master.service and
# kubelite-minion.service reading the tutorial's /etc/kubernetes files, and
# those files (samples from config/samples) where none exist yet.
#
#   scripts/install.sh [--root DIR] [--binary PATH] [--role master|minion|all] [--token K10...]
#   scripts/install.sh --uninstall [--root DIR] [--purge]
#
#   --root DIR     install under DIR instead of / (tests use a throwaway root);
#                  systemctl is only called when DIR is /
#   --binary PATH  the kubelite binary to install (default bin/kubelite; run
#                  `make build` first)
#   --role R       which samples to put in /etc/kubernetes: master (config,
#                  apiserver, controller-manager, scheduler), minion (config,
#                  kubelet, proxy) or all (default); both units are installed
#   --token T      the cluster's join token (what `kubelite token` prints on
#                  the master), written to /etc/kubernetes/token, mode 0600,
#                  where the minion unit reads it; replaces an existing one.
#                  Also read from $KUBELITE_TOKEN. Never printed.
#   --uninstall    remove the binary, the symlink and the units; keeps
#                  /etc/kubernetes (your settings, the token) unless --purge
#
# Idempotent: running it again changes nothing but the binary and units,
# and never overwrites an existing /etc/kubernetes file (but the token
# when --token is given).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
root=/
binary=$here/bin/kubelite
role=all
uninstall=0
purge=0
token=${KUBELITE_TOKEN:-}
while [ $# -gt 0 ]; do
	case "$1" in
	--root) root=$2; shift 2 ;;
	--root=*) root=${1#--root=}; shift ;;
	--binary) binary=$2; shift 2 ;;
	--binary=*) binary=${1#--binary=}; shift ;;
	--role) role=$2; shift 2 ;;
	--role=*) role=${1#--role=}; shift ;;
	--token) token=$2; shift 2 ;;
	--token=*) token=${1#--token=}; shift ;;
	--uninstall) uninstall=1; shift ;;
	--purge) purge=1; shift ;;
	-h|--help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
case "$role" in master|minion|all) ;; *) echo "install.sh: --role must be master, minion or all" >&2; exit 2 ;; esac
case "$token" in
"" | K10*::?*) ;;
*) echo "install.sh: --token must be the K10...::... token that \`kubelite token\` prints on the master" >&2; exit 2 ;;
esac

root=${root%/}
bindir=$root/usr/local/bin
unitdir=$root/etc/systemd/system
confdir=$root/etc/kubernetes
real_root=0
[ -z "$root" ] && real_root=1

systemctl_ok() { [ $real_root = 1 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }

if [ $uninstall = 1 ]; then
	if systemctl_ok; then
		systemctl disable --now kubelite-master.service kubelite-minion.service 2>/dev/null || true
	fi
	rm -f "$unitdir/kubelite-master.service" "$unitdir/kubelite-minion.service"
	if [ -L "$bindir/kubectl" ] && [ "$(readlink "$bindir/kubectl")" = kubelite ]; then
		rm -f "$bindir/kubectl"
	fi
	rm -f "$bindir/kubelite"
	if [ $purge = 1 ]; then
		for f in config apiserver controller-manager scheduler kubelet proxy token; do rm -f "$confdir/$f"; done
		rmdir "$confdir" 2>/dev/null || true
		echo "removed kubelite, its units and $confdir"
	else
		echo "removed kubelite and its units; kept $confdir (--purge removes it)"
	fi
	if systemctl_ok; then systemctl daemon-reload; fi
	exit 0
fi

if [ ! -x "$binary" ]; then
	echo "install.sh: no kubelite binary at $binary: run make build first, or pass --binary" >&2
	exit 1
fi
mkdir -p "$bindir" "$unitdir" "$confdir"

# The binary: write a temporary file and rename it, so a running kubelite
# is never overwritten in place.
cp "$binary" "$bindir/.kubelite.new"
chmod 0755 "$bindir/.kubelite.new"
mv -f "$bindir/.kubelite.new" "$bindir/kubelite"
ln -sfn kubelite "$bindir/kubectl"
echo "installed $bindir/kubelite and $bindir/kubectl -> kubelite"

# The minion unit names its token file (the default, written out so that
# the unit says where the token comes from), and is restarted without a
# limit: a minion whose master is not up yet (both hosts booting) exits,
# and must try again until the master answers.
unit() { # name description after exec
	cat >"$unitdir/$1.service.new" <<UNIT
[Unit]
Description=$2
Documentation=https://github.com/GoogleCloudPlatform/kubernetes/tree/v0.6.2
After=network-online.target$3
Wants=network-online.target$3
StartLimitIntervalSec=0

[Service]
ExecStart=/usr/local/bin/kubelite $4 --config-dir=/etc/kubernetes
Restart=on-failure
RestartSec=2
KillSignal=SIGTERM
TimeoutStopSec=60
LimitNOFILE=65536

[Install]
WantedBy=multi-user.target
UNIT
	mv -f "$unitdir/$1.service.new" "$unitdir/$1.service"
	echo "installed $unitdir/$1.service"
}
unit kubelite-master "kubelite master: API server, scheduler, controllers (Kubernetes v0.6)" "" master
unit kubelite-minion "kubelite minion: kubelet and service proxy (Kubernetes v0.6)" " docker.service" "minion --token-file=/etc/kubernetes/token"

sample() { # file from
	if [ -e "$confdir/$1" ]; then
		echo "kept $confdir/$1"
	else
		cp "$here/config/samples/$2/$1" "$confdir/$1"
		chmod 0644 "$confdir/$1"
		echo "installed $confdir/$1 (sample: edit it for this host)"
	fi
}
case "$role" in
master) for f in config apiserver controller-manager scheduler; do sample $f master; done ;;
minion) for f in config kubelet proxy; do sample $f minion; done ;;
all)
	# The minion's config is the master's plus KUBE_MASTER, which a master accepts.
	sample config minion
	for f in apiserver controller-manager scheduler; do sample $f master; done
	for f in kubelet proxy; do sample $f minion; done
	;;
esac

# The join token: a secret (whoever has it can join a minion), so the file
# is made 0600 before anything is written to it, and never echoed.
tokenfile=$confdir/token
if [ -n "$token" ]; then
	(
		umask 077
		rm -f "$tokenfile.new"
		printf '%s\n' "$token" >"$tokenfile.new"
	)
	chmod 0600 "$tokenfile.new"
	mv -f "$tokenfile.new" "$tokenfile"
	echo "installed $tokenfile (0600; the join token the minion unit reads)"
elif [ -e "$tokenfile" ]; then
	echo "kept $tokenfile"
fi

if systemctl_ok; then
	systemctl daemon-reload
fi
cat <<EOF2

Next: edit $confdir/* for this host (the samples are the tutorial's:
master 192.168.1.200, etcd 192.168.1.10, minions .201 and .202), then
  systemctl enable --now kubelite-master     # on the master
  kubelite token                             # on the master: the join token
  systemctl enable --now kubelite-minion     # on each minion, once $tokenfile holds it
On the master, kubectl reads /var/lib/kubelite/admin.kubeconfig by itself; for
another machine: kubelite kubeconfig --server https://192.168.1.200:8080 > admin.kubeconfig
Check a host with: kubelite doctor master --config-dir=/etc/kubernetes   (or: doctor minion)
EOF2
if [ "$role" != master ] && [ ! -e "$tokenfile" ]; then
	cat <<EOF3
A minion needs the join token in $tokenfile (0600): run install.sh again with
--token "\$(ssh 192.168.1.200 kubelite token)", or on the minion:
  (umask 077; ssh 192.168.1.200 kubelite token > $tokenfile)
EOF3
fi
