#!/bin/sh
# Play the tutorial's "actual operation" section on a running standalone
# cluster (start one with `make run` in another terminal): a pod, a
# replication controller, a service and its load balancing, a deleted pod
# coming back. Leaves the cluster as it found it.
#
#   scripts/demo.sh            (make demo)   KUBERNETES_MASTER overrides the API
#
# The standalone runs secure: kubectl's writes use its admin kubeconfig,
# which kubectl finds by itself under the default --data-dir
# (/var/lib/kubelite as root, ~/.kubelite otherwise); with another data dir,
# set KUBECONFIG to the kubeconfig the standalone's ready banner names.
set -eu
cd "$(dirname "$0")/.."
export KUBERNETES_MASTER=${KUBERNETES_MASTER:-http://127.0.0.1:8081}
kubelite=${KUBELITE:-bin/kubelite}
T=testdata/tutorial

say() { printf '\n\033[1m# %s\033[0m\n' "$*"; }
k() { echo "\$ kubectl $*"; "$kubelite" kubectl "$@"; }
die() { echo "demo: $*" >&2; exit 1; }
running() { # label selector -> number of Running pods
	"$kubelite" kubectl get pods -l "$1" --no-headers 2>/dev/null | grep -c ' Running' || true
}
wait_running() { # selector count seconds
	i=0
	while [ "$(running "$1")" -ne "$2" ]; do
		i=$((i + 1))
		[ $i -le $(($3 * 5)) ] || die "$2 pods with $1 not Running after $3s"
		sleep 0.2
	done
}
cleanup() {
	"$kubelite" kubectl delete service webserver >/dev/null 2>&1 || true
	"$kubelite" kubectl stop webservercontroller >/dev/null 2>&1 || true
	"$kubelite" kubectl delete pod fedoraapache >/dev/null 2>&1 || true
}

[ -x "$kubelite" ] || die "no $kubelite: run make build"
curl -fsS -m 3 "$KUBERNETES_MASTER/healthz" >/dev/null 2>&1 ||
	die "no cluster at $KUBERNETES_MASTER: start one first (make run, in another terminal)"
if [ -z "${KUBECONFIG:-}" ] && [ ! -r /var/lib/kubelite/admin.kubeconfig ] && [ ! -r "${HOME:-/nonexistent}/.kubelite/admin.kubeconfig" ]; then
	echo "demo: note: no admin kubeconfig where kubectl looks (/var/lib/kubelite, ~/.kubelite): writes will be refused" >&2
	echo "      unless the standalone runs --insecure; set KUBECONFIG to the kubeconfig its ready banner names" >&2
fi
trap cleanup EXIT INT TERM

say "The cluster: one minion, Ready"
k get minions

say "1. A pod: the tutorial's apache-pod.json (image fedora/apache, hostPort 8080)"
k create -f $T/apache-pod.json
wait_running name=fedoraapache 1 60
k get pods
echo "\$ curl -s localhost:8080   # the pod answers on its hostPort"
out=$(curl -s -m 3 localhost:8080 | head -2) || true
echo "${out:-(no answer on localhost:8080: is the standalone in another network namespace?)}"

say "2. A replication controller: lnmp-replication.json, 2 replicas of yorko/webserver"
k create -f $T/lnmp-replication.json
wait_running name=webserver_pod 2 60
k get replicationControllers

say "3. Resize it to 6, as the tutorial's pod listing shows"
k resize webservercontroller 6
wait_running name=webserver_pod 6 90
k get pods

say "4. A service: lnmp-service.json, port 8080 in front of the 6 pods"
k create -f $T/lnmp-service.json
i=0
while [ "$("$kubelite" kubectl get endpoints webserver --no-headers 2>/dev/null | tr ',' '\n' | grep -c ':80')" -ne 6 ]; do
	i=$((i + 1)); [ $i -le 150 ] || die "the service has no 6 endpoints after 30s"; sleep 0.2
done
k get services
k get endpoints
ip=$("$kubelite" kubectl get services webserver -o template -t '{{.portalIP}}')

say "5. Load balancing: 18 requests to the portal IP $ip:8080, answered by the pods in turn"
# Only send to the portal IP once this host's proxy has its rule: without
# it the packet would follow the default route off the machine.
if iptables -w -t nat -S 2>/dev/null | grep -q -- "-d $ip/32"; then
	out=$(n=0; while [ $n -lt 18 ]; do
		curl -s -m 2 "http://$ip:8080/" | head -1
		n=$((n + 1))
	done | sort | uniq -c)
	echo "${out:-(no answers: the pods are not reachable from this network namespace)}"
else
	echo "(no proxy rule for $ip on this host: is the standalone running with --proxy-mode=none, or in another network namespace?)"
fi

say "6. Delete a pod: the replication controller replaces it"
victim=$("$kubelite" kubectl get pods -l name=webserver_pod --no-headers | awk 'NR == 1 {print $1}')
k delete pod "$victim"
wait_running name=webserver_pod 6 60
k get pods -l name=webserver_pod
"$kubelite" kubectl get pods -l name=webserver_pod --no-headers | grep -q "^$victim " && die "$victim still listed"
echo "$victim is gone; 6 pods run again"

say "7. Clean up: delete the service, stop the replication controller, delete the pod"
trap - EXIT INT TERM
k delete service webserver
k stop webservercontroller
k delete pod fedoraapache
k get pods
