package roles

import (
	"context"

	"github.com/sirupsen/logrus"

	"kubelite/config"
)

// Master runs the master's components until ctx ends.
func Master(ctx context.Context, cfg *config.Master) error {
	p := &plan{role: "master"}
	addMaster(p, cfg)
	if len(p.missing) == 0 {
		warnOpenAPI(cfg)
	}
	return p.run(ctx)
}

// addMaster appends the master's components in start order.
func addMaster(p *plan, cfg *config.Master) {
	// etcd first (when embedded), then the API over the store, then the
	// loops that use it. One line per component as each package lands:
	//   if cfg.EtcdEmbed { p.add(etcd.New(...)) }
	//   p.add(apiserver.New(...))
	//   p.add(scheduler.New(...))
	//   p.add(controller.NewReplication(...), controller.NewEndpoints(...), ...)
	p.lack("apiserver (internal/apiserver)")
	if cfg.EtcdEmbed {
		p.lack("embedded etcd (internal/etcd)")
	}
}

// warnOpenAPI says, at every start, that the API has no authentication.
func warnOpenAPI(cfg *config.Master) {
	logrus.WithField("component", "master").Warnf(
		"the API on http://%s has no authentication: anyone who can reach it controls the cluster; "+
			"limit access with a firewall (see README, Ports)", cfg.APIAddr())
}
