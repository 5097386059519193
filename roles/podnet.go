package roles

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/kubelet"
	"kubelite/internal/netfilter"
	"kubelite/internal/podnet"
	"kubelite/internal/store"
)

// podNetwork feeds internal/podnet's Syncer with the minion list: every
// change of a minion, and a resync every period.
type podNetwork struct {
	st     store.Store
	syncer *podnet.Syncer
	log    *logrus.Entry
	period time.Duration
}

func newPodNetwork(log *logrus.Entry, st store.Store, self, hostIP string, cidr netip.Prefix, nf netfilter.Interface) (*podNetwork, error) {
	ip, _ := netip.ParseAddr(hostIP)
	s, err := podnet.New(podnet.Config{Log: log, Self: self, HostIP: ip, ClusterCIDR: cidr}, podnet.IPRoutes{}, nf)
	if err != nil {
		return nil, err
	}
	return &podNetwork{log: log, st: st, syncer: s, period: 30 * time.Second}, nil
}

func (p *podNetwork) Name() string { return "podnet" }

func (p *podNetwork) Run(ctx context.Context, started func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	updates := make(chan []podnet.Minion, 1)
	var mu sync.Mutex
	var inf *store.Informer
	send := func(string) {
		mu.Lock()
		defer mu.Unlock()
		var list []api.Minion
		for _, o := range inf.List() {
			if m, ok := o.(*api.Minion); ok {
				list = append(list, *m)
			}
		}
		select { // keep only the newest list
		case <-updates:
		default:
		}
		select {
		case updates <- podnet.FromAPI(list):
		case <-ctx.Done():
		}
	}
	inf = store.NewInformer(p.st, api.Minions, store.ListOptions{}, send).WithLog(p.log)
	done := make(chan struct{})
	go func() { defer close(done); _ = inf.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if !inf.WaitSynced(ctx) {
		return nil
	}
	send("")
	started()
	hp := time.NewTicker(2 * time.Second)
	defer hp.Stop()
	go podnet.KeepHairpin(ctx, p.log, podnet.IPHairpin{}, kubelet.DefaultPodBridge, hp.C)
	t := time.NewTicker(p.period)
	defer t.Stop()
	return p.syncer.Run(ctx, updates, t.C)
}

// TeardownPodNetwork removes the pod network's routes and rules from this
// host: what --network=bridge installed (a minion started with
// --network=none, and --reset, call it).
func TeardownPodNetwork(ctx context.Context, nf netfilter.Interface, cidr netip.Prefix) error {
	s, err := podnet.New(podnet.Config{ClusterCIDR: cidr}, podnet.IPRoutes{}, nf)
	if err != nil {
		return err
	}
	return s.Teardown(ctx)
}
