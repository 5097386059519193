package roles

import (
	"context"
	"io"
	"net"
	"net/netip"
	"time"

	"kubelite/config"
	"kubelite/internal/store/remote"
)

// Standalone runs the master's components followed by the minion's in one
// process until ctx ends. Once the minion is Ready it prints, to out, where
// the API is and what to try next.
func Standalone(ctx context.Context, cfg *config.Standalone, out io.Writer) error {
	start := time.Now()
	uses := append(masterPorts(&cfg.Master), portUse{"kubelet_port", hostPort(cfg.Minion.Address, cfg.Minion.Port)})
	if err := checkPorts(net.Listen, uses); err != nil {
		return err
	}
	p := &plan{role: "standalone"}
	if err := addMaster(p, &cfg.Master); err != nil {
		p.release()
		return err
	}
	// The minion half talks to the local API, exactly as a remote minion
	// does, so standalone runs the very same code paths.
	st, err := remote.New(cfg.Minion.MasterURL)
	if err != nil {
		p.release()
		return err
	}
	if err := addMinion(ctx, p, &cfg.Minion, st); err != nil {
		p.release()
		return err
	}
	p.add(&readyBanner{st: st, minion: cfg.Minion.Hostname, apiURL: cfg.Minion.MasterURL, out: out, start: start, poll: 20 * time.Millisecond})
	if !isLoopback(cfg.Master.Address) {
		warnOpenAPI(&cfg.Master)
	}
	return p.run(ctx)
}

func isLoopback(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	return err == nil && ip.IsLoopback()
}
