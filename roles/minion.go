package roles

import (
	"context"

	"github.com/sirupsen/logrus"

	"kubelite/config"
)

// Minion runs the minion's components until ctx ends.
func Minion(ctx context.Context, cfg *config.Minion) error {
	if len(cfg.EtcdServers) > 0 {
		logrus.WithField("component", "minion").Infof(
			"ignoring --etcd_servers=%s: a kubelite minion talks only to the API at %s",
			cfg.EtcdServers[0], cfg.MasterURL)
	}
	p := &plan{role: "minion"}
	addMinion(p, cfg)
	return p.run(ctx)
}

// addMinion appends the minion's components in start order: the kubelet,
// then the proxy. One line per component as each package lands:
//
//	p.add(kubelet.New(...))
//	if cfg.ProxyMode != "none" { p.add(proxy.New(...)) }
func addMinion(p *plan, cfg *config.Minion) {
	p.lack("kubelet (internal/kubelet)")
	if cfg.ProxyMode != "none" {
		p.lack("proxy (internal/proxy)")
	}
}
