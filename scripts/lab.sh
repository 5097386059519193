#!/bin/sh
# Bring a kubelite lab up on this machine for a person to try, or tear it down.
#
#   scripts/lab.sh up   [NAME]   1 master + $MINIONS (default 2) minion hosts, each
#                                in its own network namespace, each minion with its
#                                own Docker Engine; kubelite runs on every host when
#                                the binary builds (main.go present)
#   scripts/lab.sh down [NAME]   remove everything of lab NAME (default demo), also
#                                the leftovers of a crashed run
#
# The cluster runs secure: the minions join with the master's token (written
# to each minion host's token file), kubectl uses the admin kubeconfig the
# lab writes (the command lines to use are printed). For the 2014 behaviour:
# LAB_FLAGS='-master-args "master --config-dir= --etcd-embed --data-dir={dir}/data --insecure"'
# (the minions then get --master=http://...).
#
# Needs root, Docker, iptables. Extra flags for kubelite-lab go in $LAB_FLAGS,
# e.g. LAB_FLAGS='-minion-args "minion --master={master}:8080"'.
# See internal/lab (package doc) for the layout: bridge klb-NAME, hosts in
# 198.18.0.0/24, nothing forwarded off the machine.
set -eu
cd "$(dirname "$0")/.."
cmd=${1:-up}
name=${2:-demo}
if [ "$(id -u)" != 0 ]; then
	echo "lab.sh: needs root (network namespaces, iptables, dockerd)" >&2
	exit 1
fi
bindir=${KUBELITE_LAB_BIN:-/tmp/kubelite-lab-bin}
mkdir -p "$bindir"
CGO_ENABLED=0 go build -o "$bindir/kubelite-lab" ./internal/lab/cmd/kubelite-lab
case "$cmd" in
up)
	if [ -f main.go ]; then
		CGO_ENABLED=0 go build -o "$bindir/kubelite" .
		eval "exec \"$bindir/kubelite-lab\" up -name \"$name\" -minions \"${MINIONS:-2}\" -kubelite \"$bindir/kubelite\" ${LAB_FLAGS:-}"
	fi
	echo "lab.sh: no main.go yet: bringing up the hosts and engines without kubelite" >&2
	eval "exec \"$bindir/kubelite-lab\" up -name \"$name\" -minions \"${MINIONS:-2}\" ${LAB_FLAGS:-}"
	;;
down)
	exec "$bindir/kubelite-lab" down -name "$name"
	;;
*)
	echo "usage: scripts/lab.sh up|down [NAME]" >&2
	exit 2
	;;
esac
