package roles

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"time"

	"kubelite/config"
	"kubelite/internal/endpoint"
	"kubelite/internal/pki"
	"kubelite/internal/store/remote"
)

// Standalone runs the master's components followed by the minion's in one
// process until ctx ends. Once the minion is Ready it prints, to out, where
// the API is and what to try next.
// With --cleanup-iptables it removes the proxy's rules, says so and
// returns without starting anything.
func Standalone(ctx context.Context, cfg *config.Standalone, out io.Writer) error {
	if cfg.Minion.CleanupIPTables {
		if err := CleanupIPTables(); err != nil {
			return fmt.Errorf("cleanup iptables: %w", err)
		}
		_, err := fmt.Fprintln(out, "removed kubelite's iptables chains and rules; no cluster was started")
		return err
	}
	start := time.Now()
	uses := append(masterPorts(&cfg.Master), portUse{"kubelet_port", hostPort(cfg.Minion.Address, cfg.Minion.Port)})
	if err := checkPorts(net.Listen, uses); err != nil {
		return err
	}
	p := newPlan(ctx, "standalone")
	rt, err := containerRuntime(ctx, p, &cfg.Minion) // Docker first: nothing is created without it
	if err != nil {
		p.release()
		return err
	}
	id, err := addMaster(p, &cfg.Master)
	if err != nil {
		p.release()
		return err
	}
	// The minion half talks to the local API, exactly as a remote minion
	// does, so standalone runs the very same code paths; its credential
	// comes from the CA in this process instead of a join.
	hostIP := minionHostIP(&cfg.Minion)
	creds := &minionCreds{}
	if id != nil {
		creds, err = localMinion(id, &cfg.Minion, hostIP)
	} else {
		creds.api, err = endpoint.Plain(cfg.Minion.MasterURL)
	}
	if err != nil {
		p.release()
		return err
	}
	if err := addMinion(ctx, p, &cfg.Minion, rt, creds, hostIP, cfg.Master.DataDir); err != nil {
		p.release()
		return err
	}
	banner := &readyBanner{st: remote.NewEndpoint(creds.api), minion: cfg.Minion.Hostname, apiURL: cfg.Minion.MasterURL, out: out, start: start, poll: 20 * time.Millisecond}
	if id != nil {
		banner.kubeconfig = filepath.Join(id.Dir, pki.AdminKubeconfigFile)
	}
	p.add(banner)
	if cfg.Master.Insecure {
		warnInsecure(p.logger("master"), &cfg.Master)
	}
	return p.run(ctx)
}
