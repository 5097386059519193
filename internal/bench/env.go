package bench

import (
	"context"
	"time"

	"kubelite/internal/store"
)

// Env is what the caller (roles) provides: the means to start the master's
// pieces, hollow minions and raw layers. Each scenario starts a fresh master.
type Env interface {
	StartMaster(ctx context.Context, o MasterOptions) (Master, error)
	// Binary is the kubelite executable, for footprint runs in child processes.
	Binary() string
	// ProxyThroughput measures requests/s and MB/s through a portal IP in the
	// given proxy mode and direct to the backend, in the same run: rounds
	// rounds of d for each of the four, portal and direct alternating.
	ProxyThroughput(ctx context.Context, mode string, d time.Duration, rounds int) (ProxyResult, error)
	// RulesSync programs iptables for services x endpoints in a private
	// network namespace and returns how long each full sync took.
	RulesSync(ctx context.Context, services, endpoints, runs int) ([]time.Duration, error)
	// HollowOn starts n hollow minions named prefix-0..n-1 on st (a remote
	// store of a master in another process) and returns once all are
	// registered; the caller closes the fleet.
	HollowOn(ctx context.Context, st store.Store, prefix string, n int) (Fleet, error)
}

// ProxyResult is a same-run measurement of proxy throughput: one value a
// round in each slice, portal and direct measured one after the other in
// each round, the one first in one round second in the next (so a machine
// getting faster or slower during the run weighs on both alike).
type ProxyResult struct {
	PortalReqPerSec, DirectReqPerSec []float64
	PortalMBPerSec, DirectMBPerSec   []float64
}

// MasterOptions says which loops a scenario's master runs.
type MasterOptions struct {
	Scheduler   bool
	Controllers bool
	// NodeGrace and PodEviction shorten node lifecycle for minion-loss.
	NodeGrace, PodEviction time.Duration
}

// Master is a running master (embedded etcd in a temporary directory).
type Master interface {
	// URL is the API's base URL (http://127.0.0.1:port).
	URL() string
	// Store is the in-process store the master's components use.
	Store() store.Store
	// RawPut writes val at key straight to etcd, bypassing everything kubelite adds.
	RawPut(ctx context.Context, key string, val []byte) error
	// Hollow starts n hollow minions (kubelets on the fake runtime) named prefix-0..n-1.
	Hollow(ctx context.Context, prefix string, n int) (Fleet, error)
	// DockerKubelet starts one real kubelet on the local Docker Engine, its
	// pods on the network nw says.
	DockerKubelet(ctx context.Context, name string, nw DockerNetwork) (stop func() error, err error)
	Close() error
}

// DockerNetwork is where a DockerKubelet's pods run.
type DockerNetwork int

const (
	// PodNetwork is what `kubelite minion` runs by default (--network=bridge
	// --pod-infra=auto): a pod network of the minion's own with a podCIDR,
	// and a pod of one container without host ports runs as that container
	// alone, attached to it by the kubelet. Needs root.
	PodNetwork DockerNetwork = iota
	// EngineBridge is Kubernetes v0.6's model (--network=none): every pod
	// has an infra container on the engine's default bridge holding the
	// network its app containers join.
	EngineBridge
)

// Fleet is a set of hollow minions.
type Fleet interface {
	// Stop kills the named minions' kubelets (their heartbeats stop).
	Stop(names ...string)
	Close()
}
