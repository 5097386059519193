package roles

import (
	"context"
	"net/netip"

	"kubelite/config"
)

// Standalone runs the master's components followed by the minion's in one
// process until ctx ends.
func Standalone(ctx context.Context, cfg *config.Standalone) error {
	p := &plan{role: "standalone"}
	addMaster(p, &cfg.Master)
	addMinion(p, &cfg.Minion)
	if len(p.missing) == 0 && !isLoopback(cfg.Master.Address) {
		warnOpenAPI(&cfg.Master)
	}
	return p.run(ctx)
}

func isLoopback(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	return err == nil && ip.IsLoopback()
}
