package roles

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"kubelite/config"
	"kubelite/internal/api"
	"kubelite/internal/kubelet"
	"kubelite/internal/netfilter"
	"kubelite/internal/proxy"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/docker"
	"kubelite/internal/runtime/fake"
	"kubelite/internal/store"
	"kubelite/internal/store/remote"
)

// Minion runs the minion's components until ctx ends. With
// --cleanup-iptables it removes the proxy's rules and returns.
func Minion(ctx context.Context, cfg *config.Minion) error {
	if cfg.CleanupIPTables {
		return CleanupIPTables()
	}
	p := newPlan(ctx, "minion")
	if len(cfg.EtcdServers) > 0 {
		p.logger("minion").Infof(
			"ignoring --etcd_servers=%s: a kubelite minion talks only to the API at %s",
			cfg.EtcdServers[0], strings.Join(append([]string{cfg.MasterURL}, cfg.MoreMasterURLs...), ","))
	}
	if err := checkPorts(net.Listen, []portUse{{"port", cfg.KubeletAddr()}}); err != nil {
		return err
	}
	rt, err := containerRuntime(ctx, p, cfg) // before the join: a minion without Docker never registers
	if err != nil {
		p.release()
		return err
	}
	hostIP := minionHostIP(cfg)
	creds, err := joinMaster(ctx, cfg, hostIP)
	if err != nil {
		p.release()
		if ctx.Err() != nil {
			return nil // stopped while waiting for the master
		}
		return fmt.Errorf("minion: %w", err)
	}
	if err := addMinion(ctx, p, cfg, rt, creds, hostIP); err != nil {
		p.release()
		return err
	}
	return p.run(ctx)
}

// minionRuntime is the container runtime a minion drives and the capacity
// it reported.
type minionRuntime struct {
	runtime.Runtime
	capacity api.Capacity
}

// containerRuntime connects to the configured runtime and reads the
// minion's capacity from it.
func containerRuntime(ctx context.Context, p *plan, cfg *config.Minion) (minionRuntime, error) {
	if cfg.Runtime == "fake" {
		return minionRuntime{Runtime: fake.New(fake.Options{})}, nil
	}
	rt, err := docker.New(cfg.DockerEndpoint, docker.WithPodAttach(cfg.PodAttach))
	if err != nil {
		return minionRuntime{}, err
	}
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cpus, mem, err := rt.Info(ictx)
	if err != nil {
		_ = rt.Close()
		return minionRuntime{}, fmt.Errorf("cannot reach Docker at %s (%v): start it (systemctl start docker) or point --docker-endpoint at its socket", cfg.DockerEndpoint, err)
	}
	p.cleanup(func() { _ = rt.Close() })
	return minionRuntime{Runtime: rt, capacity: api.Capacity{CPU: int64(cpus) * 1000, Memory: mem}}, nil
}

// detectHostIP picks the address other hosts reach this minion on: the
// host name when it is an IP (the tutorial's --hostname_override=192.168.1.201),
// else the local address of the route to the master (a UDP "dial" sends no
// packet). "" when neither works; the kubelet then reports none.
func detectHostIP(hostname, masterURL string) string {
	if ip, err := netip.ParseAddr(hostname); err == nil {
		return ip.String()
	}
	u, err := url.Parse(masterURL)
	if err != nil || u.Host == "" {
		return ""
	}
	c, err := net.Dial("udp", u.Host)
	if err != nil {
		return ""
	}
	defer c.Close()
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return a.IP.String()
	}
	return ""
}

// CleanupIPTables removes every rule and chain the proxy ever wrote.
func CleanupIPTables() error {
	nf, err := netfilter.New()
	if err != nil {
		return err
	}
	return proxy.Cleanup(nf)
}

// minionHostIP is --host-ip, else detected.
func minionHostIP(cfg *config.Minion) string {
	if cfg.HostIP != "" {
		return cfg.HostIP
	}
	return detectHostIP(cfg.Hostname, cfg.MasterURL)
}

// addMinion appends the minion's components in start order: the kubelet,
// then the proxy, both over the API at creds (a remote master, or this
// process's own API in standalone).
// protected are more host paths pods may not mount (a master's data dir
// on the same host); the kubelet adds its own root dir.
func addMinion(ctx context.Context, p *plan, cfg *config.Minion, rt minionRuntime, creds *minionCreds, hostIP string, protected ...string) error {
	var st store.Store = remote.NewEndpoint(creds.api)
	network := cfg.Network
	if cfg.Runtime == "fake" {
		network = kubelet.NetworkNone // hollow pods keep loopback IPs: probes never leave the machine
	}
	kl, err := kubelet.New(kubelet.Config{
		Log:      p.logger("kubelet"),
		NodeName: cfg.Hostname, HostIP: hostIP, Store: st, Runtime: rt.Runtime,
		RootDir: cfg.RootDir, SyncFrequency: cfg.SyncFrequency, AllowPrivileged: cfg.AllowPrivileged,
		Capacity: rt.capacity, Labels: cfg.Labels, Port: cfg.Port, Network: network, PodInfra: cfg.PodInfra,
		Protected: append([]string{config.DefaultDataDir}, protected...),
	})
	if err != nil {
		return fmt.Errorf("minion: %w", err)
	}
	p.add(kubelet.Server{K: kl, Addr: cfg.KubeletAddr(), TLS: creds.kubeletTLS, Authn: creds.authn}, kl)
	var nf netfilter.Interface
	if cfg.ProxyMode != "none" || cfg.Network == "bridge" {
		n, err := netfilter.New()
		if err != nil {
			return fmt.Errorf("need iptables: %w (install iptables, or run with --proxy-mode=none --network=none)", err)
		}
		nf = n
	}
	if cfg.Network == "bridge" {
		pn, err := newPodNetwork(p.logger("podnet"), st, cfg.Hostname, hostIP, cfg.ClusterCIDR, nf)
		if err != nil {
			return fmt.Errorf("pod network: %w", err)
		}
		p.add(pn)
	} else if nf != nil {
		// --network=none: remove what an earlier --network=bridge installed.
		if err := TeardownPodNetwork(ctx, nf, cfg.ClusterCIDR); err != nil {
			p.logger("minion").WithError(err).Warn("removing the pod network's routes and rules")
		}
	}
	px, err := proxy.New(proxy.Config{Log: p.logger("proxy"), Store: st, Mode: proxy.Mode(cfg.ProxyMode), HostIP: cfg.HostIP, Netfilter: nf})
	if err != nil {
		return err
	}
	if cfg.ProxyMode != "none" {
		p.add(px)
	}
	return nil
}
