package roles

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"github.com/sirupsen/logrus"

	"kubelite/config"
	"kubelite/internal/admission"
	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/component"
	"kubelite/internal/controller/endpoints"
	"kubelite/internal/controller/node"
	"kubelite/internal/controller/replication"
	"kubelite/internal/etcd"
	"kubelite/internal/leader"
	"kubelite/internal/masterjoin"
	"kubelite/internal/pki"
	"kubelite/internal/record"
	"kubelite/internal/registry"
	"kubelite/internal/scheduler"
	"kubelite/internal/store"
	storeetcd "kubelite/internal/store/etcd"
	"kubelite/internal/version"
)

// Master runs the master's components until ctx ends.
func Master(ctx context.Context, cfg *config.Master) error {
	if err := checkPorts(net.Listen, masterPorts(cfg)); err != nil {
		return err
	}
	if err := joinCluster(ctx, cfg); err != nil {
		return err
	}
	p := newPlan(ctx, "master")
	if _, err := addMaster(p, cfg); err != nil {
		p.release()
		return err
	}
	if cfg.Insecure {
		warnInsecure(p.logger("master"), cfg)
	}
	return p.run(ctx)
}

// masterPorts lists the addresses the master will listen on.
func masterPorts(cfg *config.Master) []portUse {
	uses := []portUse{{"port", hostPort(cfg.Address, cfg.Port)}}
	if cfg.EtcdEmbed {
		uses = append(uses, portUse{"etcd-addr", cfg.EtcdAddr}, portUse{"etcd-peer-addr", cfg.EtcdPeerAddr})
	}
	return uses
}

// ipNet converts a prefix to the *net.IPNet the registry takes.
func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// serverVersion is what /version answers.
func serverVersion() api.ServerVersion {
	v := version.Get()
	return api.ServerVersion{Major: v.Major, Minor: v.Minor, GitVersion: v.GitVersion, GitCommit: v.GitCommit, GitTreeState: v.GitTreeState}
}

// addMaster appends the master's components in start order: etcd, the API
// over the store, then the loops that use the store. It returns the
// cluster's identity (nil with --insecure).
func addMaster(p *plan, cfg *config.Master) (*pki.Identity, error) {
	// One process per data dir: a second one fails here, naming the first,
	// instead of waiting forever for etcd's database.
	if cfg.EtcdEmbed || !cfg.Insecure {
		release, err := etcd.LockDataDir(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("master: %w", err)
		}
		p.cleanup(release)
	}
	restore, err := checkRestore(p.logger("master"), cfg)
	if err != nil {
		return nil, err
	}
	var id *pki.Identity
	if !cfg.Insecure {
		var err error
		if id, err = loadIdentity(p.logger("pki"), cfg); err != nil {
			return nil, err
		}
	}
	etcdEndpoints := cfg.EtcdServers
	var embedded *etcd.Embedded
	etcdTLS, err := etcd.ClientTLS(etcd.TLSFiles{CertFile: cfg.EtcdCertFile, KeyFile: cfg.EtcdKeyFile, CAFile: cfg.EtcdCAFile})
	if err != nil {
		return nil, err
	}
	if cfg.EtcdEmbed {
		ecfg := etcd.Config{Log: p.logger("etcd"), DataDir: cfg.DataDir, ClientAddr: cfg.EtcdAddr, PeerAddr: cfg.EtcdPeerAddr, PlainOffLoopback: cfg.Insecure,
			QuotaBackendBytes: int64(cfg.EtcdQuotaMB) << 20}
		if !etcd.IsLoopback(cfg.EtcdAddr) && id != nil {
			if ecfg.ClientTLS, etcdTLS, err = etcdCerts(id, cfg.EtcdAddr); err != nil {
				return nil, err
			}
		}
		// A master that joined a cluster (masterjoin) starts its member with
		// the name and initial cluster it was given; peers off loopback
		// authenticate with certificates of the cluster's CA.
		member, err := readMember(cfg.DataDir)
		if err != nil {
			return nil, err
		}
		if member != nil {
			ecfg.Name, ecfg.InitialCluster, ecfg.ClusterState = member.Name, member.InitialCluster, "existing"
		}
		if !etcd.IsLoopback(cfg.EtcdPeerAddr) && id != nil {
			if ecfg.PeerTLS, err = peerCerts(id, cfg.EtcdPeerAddr); err != nil {
				return nil, err
			}
		}
		embedded = etcd.NewEmbedded(ecfg)
		etcdEndpoints = embedded.Endpoints()
	}
	cli, err := etcd.NewClientWithLog(etcdEndpoints, etcdTLS, p.logger("etcd-client"))
	if err != nil {
		return nil, err
	}
	p.cleanup(func() { _ = cli.Close() })
	// The store's client: its own embedded etcd is called in this process
	// (no gRPC, no socket); an external etcd through cli. The election, the
	// health, space and quorum checks, claims and restores keep cli.
	storeCli := cli
	if embedded != nil {
		storeCli = embedded.LocalClient(cli)
		p.cleanup(func() { _ = storeCli.Close() })
		p.add(embedded)
	} else {
		p.add(&etcd.External{Client: cli, Log: p.logger("etcd-client")})
	}
	// Stopped in reverse order, this closes the clients just before etcd
	// stops: an embedded etcd otherwise waits seconds for its connection.
	p.add(component.Func{N: "etcd-client", F: func(ctx context.Context, started func()) error {
		started()
		<-ctx.Done()
		if storeCli != cli {
			_ = storeCli.Close() // context.Canceled, always
		}
		_ = cli.Close()
		return nil
	}})
	if restore {
		p.add(restoreComponent(p.logger("master"), cfg.Restore, func(ctx context.Context) (int, error) { return etcd.RestoreSnapshot(ctx, cli, cfg.Restore) }))
	}

	// Kubelets' heartbeats renew an etcd lease per minion (not a write of
	// the minion through raft), as long as the node controller's grace
	// period; the node controller watches those leases.
	leaseTTL := cfg.NodeMonitorGracePeriod
	if leaseTTL <= 0 {
		leaseTTL = node.DefaultGracePeriod
	}
	// The registry adds the API's semantics (defaults, validation, uids and
	// names, portal IPs, bindings) to the raw store; everything in the master
	// uses it.
	leases := storeetcd.NewMinionLeases(storeCli, leaseTTL, p.logger("minion-leases")) // the registry renews, the node controller watches
	reg, err := registry.New(storeetcd.New(storeCli).WithLog(p.logger("store")), registry.Config{
		Log:        p.logger("registry"),
		Heartbeats: leases,
		PortalNet:  ipNet(cfg.PortalNet), PortalClaims: etcd.NewClaims(cli, ""),
		Diagnose:    func(ctx context.Context) string { return etcd.DiagnoseQuorum(ctx, cli) },
		Admission:   admission.Policy{AllowPrivileged: cfg.AllowPrivileged, Protected: []string{cfg.DataDir, config.DefaultRootDir}},
		MaxReplicas: cfg.MaxReplicas, MaxObjectsPerNamespace: cfg.MaxObjectsPerNamespace,
	})
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	p.add(reg)
	var st store.Store = reg

	identity := masterIdentity(cfg)
	elector, err := etcd.NewElection(cli, etcd.ElectionConfig{Log: p.logger("leader"), Identity: identity, TTL: cfg.LeaderLease})
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	acfg := apiserver.Config{
		Log:     p.logger("apiserver"),
		Address: cfg.Address, Port: cfg.Port, Store: st, Version: serverVersion(),
		KubeletPort: cfg.KubeletPort, ProtectedPorts: etcdPorts(cfg),
		HealthChecks: map[string]apiserver.HealthCheck{
			"etcd-0":     func(ctx context.Context) error { return etcd.Health(ctx, cli) },
			"etcd-space": func(ctx context.Context) error { return etcd.AlarmCheck(ctx, cli) },
			"leader":     apiserver.WithNote(leader.HealthNote(elector, identity, 2*elector.TTL())),
		},
	}
	if id != nil {
		acfg.Security, acfg.TLS, acfg.Transport = apiSecurity(p.logger("join"), id, st), apiTLS(id), kubeletTransport(id)
		if cfg.EtcdEmbed {
			// Other masters join this one's cluster through the API port.
			acfg.Security.Public[masterjoin.Path] = masterJoinServer(p.logger("master-join"), cfg.DataDir, func(ctx context.Context, name, peer string) (string, error) {
				return etcd.AddMember(ctx, cli, name, peer)
			}).Handler()
		}
	}
	api, err := apiserver.New(acfg)
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	p.add(api)
	// The scheduler and controllers run on one master at a time: the one
	// holding the lease (internal/leader); built afresh for every term.
	build := func() ([]component.Component, error) {
		nodes, err := node.New(node.Config{
			Store: st, Log: p.logger("node-controller"), Recorder: record.New(st, record.Config{Log: p.logger("record"), Source: "node-controller"}),
			Machines: cfg.Machines, ClusterCIDR: cfg.ClusterCIDR.String(),
			GracePeriod: cfg.NodeMonitorGracePeriod, EvictionTimeout: cfg.PodEvictionTimeout, ReplicaEvictionTimeout: cfg.ReplicaEvictionTimeout,
			Leases: leases,
		})
		if err != nil {
			return nil, err
		}
		comps := []component.Component{
			scheduler.New(scheduler.Config{Store: st, Log: p.logger("scheduler"), Recorder: record.New(st, record.Config{Log: p.logger("record"), Source: "scheduler"})}),
			replication.New(replication.Config{Store: st, Log: p.logger("replication-manager"), Recorder: record.New(st, record.Config{Log: p.logger("record"), Source: "replication-manager"})}),
			endpoints.New(endpoints.Config{Store: st, Log: p.logger("endpoints-controller")}),
			nodes,
		}
		if cfg.EtcdEmbed {
			// etcd's raft leadership goes to another master than the
			// controllers' (etcd renews every lease when its leader
			// changes: one death would otherwise cost both elections).
			comps = append(comps, etcd.NewSpread(cli, p.logger("etcd")))
		}
		return comps, nil
	}
	if _, err := build(); err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	gate, err := leader.New(leader.Config{Log: p.logger("leader"), Elector: elector, Identity: identity, Build: build})
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	p.add(gate)
	return id, nil
}

// warnInsecure says, at every start, that --insecure leaves the API open.
func warnInsecure(log *logrus.Entry, cfg *config.Master) {
	log.Warnf(
		"--insecure: the API on http://%s has no TLS and no authentication, and takes anonymous minions: "+
			"anyone who can reach it is root on every minion; drop --insecure (see README, Security)", cfg.APIAddr())
}

// masterIdentity names this master in the leader election: its host name
// and API address, unique among running masters (two processes cannot
// listen on one address).
func masterIdentity(cfg *config.Master) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "master"
	}
	return host + " " + cfg.APIAddr()
}

// etcdPorts are the embedded etcd's client and peer ports: the API's proxy
// never reaches them, on any host.
func etcdPorts(cfg *config.Master) []int {
	var ports []int
	for _, a := range []string{cfg.EtcdAddr, cfg.EtcdPeerAddr} {
		if _, p, err := net.SplitHostPort(a); err == nil {
			if n, err := strconv.Atoi(p); err == nil {
				ports = append(ports, n)
			}
		}
	}
	return ports
}
