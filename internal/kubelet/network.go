package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/logging"
	"kubelite/internal/runtime"
	"kubelite/internal/store"
)

// Pod network modes (Config.Network).
const (
	// NetworkBridge puts pods on a bridge network with the minion's podCIDR.
	NetworkBridge = "bridge"
	// NetworkNone (or "") keeps pods on the engine's default bridge.
	NetworkNone = "none"
)

// Defaults of the pod network's names.
const (
	DefaultPodNetwork = "kubelite-pods"
	DefaultPodBridge  = "kl-pods"
)

// podNet keeps the engine's pod network in line with this minion's podCIDR
// (bridge mode only). The master assigns the podCIDR shortly after the
// minion registers; until the network exists no pod is synced, so nothing
// starts on the wrong network and nothing running is judged against a
// network the kubelet does not know yet.
type podNet struct {
	k       *Kubelet
	log     *logrus.Entry
	minions *store.Informer // this minion only
	changed chan struct{}   // the minion changed

	mu      sync.Mutex
	current PodNetwork // "" until the network exists
	ready   chan struct{}
	once    sync.Once
}

func newPodNet(k *Kubelet) (*podNet, error) {
	sel, err := api.ParseSelector(api.FieldName + "=" + k.cfg.NodeName)
	if err != nil {
		return nil, fmt.Errorf("minion selector: %w", err)
	}
	n := &podNet{k: k, log: k.log.WithField("network", k.cfg.PodNetwork), changed: make(chan struct{}, 1), ready: make(chan struct{})}
	n.minions = store.NewInformer(k.cfg.Store, api.Minions, store.ListOptions{Fields: sel}, func(string) {
		select {
		case n.changed <- struct{}{}:
		default:
		}
	}).WithLog(n.log)
	return n, nil
}

// network returns the pod network pods must be on now.
func (n *podNet) network() PodNetwork {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.current
}

// isReady reports whether the network exists (pods may be synced).
func (n *podNet) isReady() bool {
	select {
	case <-n.ready:
		return true
	default:
		return false
	}
}

// podCIDR reads this minion's podCIDR from the cache ("" = not assigned yet).
func (n *podNet) podCIDR() string {
	for _, o := range n.minions.List() {
		if m, ok := o.(*api.Minion); ok && m.ID == n.k.cfg.NodeName {
			return m.PodCIDR
		}
	}
	return ""
}

// run ensures the network whenever the minion changes, and every
// SyncFrequency (someone may have removed it); failures are retried with
// back-off.
func (n *podNet) run(ctx context.Context) {
	waiting := false
	rep := logging.NewRepeater(logging.RepeaterConfig{Log: n.log, Clock: n.k.cfg.Clock, What: "set up the pod network",
		Hint: "ip link / ip addr of the pod bridge, iptables, and kubelite doctor minion; --network=none uses the engine's default bridge"})
	retry := time.Duration(0)
	for {
		cidr := n.podCIDR()
		var err error
		switch {
		case cidr == "":
			if !waiting {
				n.log.Info("waiting for the master to assign this minion a pod subnet (podCIDR); pods start once it has (--network=none keeps the engine's default bridge)")
				waiting = true
			}
		default:
			waiting = false
			err = n.ensure(ctx, cidr)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			rep.Fail(err)
			retry = min(max(2*retry, 500*time.Millisecond), n.k.cfg.SyncFrequency)
		case err == nil:
			rep.OK()
			retry = 0
		}
		wait := n.k.cfg.SyncFrequency
		if retry > 0 {
			wait = retry
		}
		select {
		case <-ctx.Done():
			return
		case <-n.changed:
		case <-n.k.cfg.Clock.After(wait):
		}
	}
}

// ensure makes the engine's pod network have subnet cidr. When the subnet
// changed (or the network was replaced), every pod is queued: their infra
// containers' hash names the old network, so each is replaced.
func (n *podNet) ensure(ctx context.Context, cidr string) error {
	spec := runtime.NetworkSpec{
		Name: n.k.cfg.PodNetwork, Bridge: n.k.cfg.PodBridge, Subnet: cidr,
		Labels: map[string]string{runtime.LabelMinion: n.k.cfg.NodeName},
	}
	nw, err := n.k.cfg.Runtime.EnsureNetwork(ctx, spec)
	if err != nil {
		if errors.Is(err, runtime.ErrNetworkNotManaged) {
			return fmt.Errorf("%w: remove it (docker network rm %s) or pick another name", err, spec.Name)
		}
		return err
	}
	want := PodNetwork{Name: nw.Name, Subnet: nw.Subnet}
	n.mu.Lock()
	old := n.current
	n.current = want
	n.mu.Unlock()
	first := false
	n.once.Do(func() { close(n.ready); first = true })
	switch {
	case first:
		n.log.WithFields(logrus.Fields{"subnet": nw.Subnet, "bridge": nw.Bridge, "gateway": nw.Gateway}).Info("pod network ready")
	case old != want || nw.Recreated:
		n.log.WithFields(logrus.Fields{"subnet": nw.Subnet, "was": old.Subnet, "recreated": nw.Recreated}).Warn("pod network changed; restarting every pod's infra container")
	}
	if first || old != want || nw.Recreated {
		for _, o := range n.k.pods.List() {
			n.k.queue.Add(api.Key(o))
		}
	}
	if first && nw.Recreated {
		// A kubelet restart after the podCIDR changed: the resync that
		// starts with the first sync replaces the pods' infra containers.
		n.log.WithField("subnet", nw.Subnet).Warn("pod network replaced: it had other settings")
	}
	return nil
}

// WaitingForNetwork is the waiting reason of a new pod's containers while
// the minion has no pod network yet.
const WaitingForNetwork = "ContainerCreating: waiting for the master to assign this minion a pod subnet (podCIDR)"

// waitForNetwork is SyncPod before the pod network exists: a pod that has no
// containers here yet shows why it waits; anything else is left as it is
// (a restarted kubelet's running pods keep their status).
func (k *Kubelet) waitForNetwork(ctx context.Context, key string) error {
	pod := k.podFromCache(key)
	if pod == nil {
		return nil
	}
	pk := api.ParseKey(key)
	cs, err := k.list(ctx, runtime.ListOptions{Labels: map[string]string{runtime.LabelPodNamespace: pk.NamespaceOrDefault(), runtime.LabelPodName: pk.ID}})
	if err != nil {
		return fmt.Errorf("sync pod %s: %w", key, err)
	}
	if len(cs) > 0 {
		return nil
	}
	waiting := map[string]string{InfraName: WaitingForNetwork}
	for _, c := range pod.DesiredState.Manifest.Containers {
		waiting[c.Name] = WaitingForNetwork
	}
	return k.pushStatus(ctx, pod, PodStatus(StatusInput{Pod: pod, Waiting: waiting, Host: k.cfg.NodeName, HostIP: k.cfg.HostIP}))
}
