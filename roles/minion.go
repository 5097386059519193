package roles

import (
	"context"
	"fmt"

	"github.com/sirupsen/logrus"

	"kubelite/config"
	"kubelite/internal/netfilter"
	"kubelite/internal/proxy"
	"kubelite/internal/store"
	"kubelite/internal/store/remote"
)

// Minion runs the minion's components until ctx ends. With
// --cleanup-iptables it removes the proxy's rules and returns.
func Minion(ctx context.Context, cfg *config.Minion) error {
	if cfg.CleanupIPTables {
		return CleanupIPTables()
	}
	if len(cfg.EtcdServers) > 0 {
		logrus.WithField("component", "minion").Infof(
			"ignoring --etcd_servers=%s: a kubelite minion talks only to the API at %s",
			cfg.EtcdServers[0], cfg.MasterURL)
	}
	st, err := remote.New(cfg.MasterURL)
	if err != nil {
		return fmt.Errorf("minion: %w", err)
	}
	p := &plan{role: "minion"}
	if err := addMinion(p, cfg, st); err != nil {
		p.release()
		return err
	}
	return p.run(ctx)
}

// CleanupIPTables removes every rule and chain the proxy ever wrote.
func CleanupIPTables() error {
	nf, err := netfilter.New()
	if err != nil {
		return err
	}
	return proxy.Cleanup(nf)
}

// addMinion appends the minion's components in start order: the kubelet,
// then the proxy, both over st (the API on a minion, the master's store in
// standalone).
func addMinion(p *plan, cfg *config.Minion, st store.Store) error {
	// TODO(kubelet): p.add(kubelet.New(...)) once internal/kubelet has its component.
	p.lack("kubelet")
	var nf netfilter.Interface
	if cfg.ProxyMode != "none" {
		n, err := netfilter.New()
		if err != nil {
			return fmt.Errorf("proxy: %w (install iptables, or run with --proxy-mode=none)", err)
		}
		nf = n
	}
	px, err := proxy.New(proxy.Config{Store: st, Mode: proxy.Mode(cfg.ProxyMode), HostIP: cfg.HostIP, Netfilter: nf})
	if err != nil {
		return err
	}
	if cfg.ProxyMode != "none" {
		p.add(px)
	}
	return nil
}
