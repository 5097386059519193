package config

import (
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"kubelite/internal/api"
	"kubelite/internal/endpoint"
)

// Flag categories, shown as groups in each role's usage text.
const (
	catAPI        = "API server"
	catEtcd       = "etcd"
	catNetwork    = "Networking"
	catControl    = "Controllers"
	catKubelet    = "Kubelet"
	catProxy      = "Proxy"
	catLogging    = "Logging"
	catFiles      = "Config files"
	catStandalone = "Standalone"
)

// Defaults of the flags, as the tutorial's files set them. The API port is
// defined where it is used (endpoint), the host's defaults in api (where
// every package can take them).
const (
	DefaultAPIPort           = endpoint.DefaultPort
	DefaultStandaloneAPIPort = 8081
	DefaultKubeletPort       = api.DefaultKubeletPort
	DefaultEtcdAddr          = api.DefaultEtcdClientAddr
	DefaultEtcdPeerAddr      = api.DefaultEtcdPeerAddr
	DefaultDataDir           = api.DefaultDataDir
	DefaultPortalNet         = api.DefaultPortalNet
	DefaultClusterCIDR       = "10.244.0.0/16"
	DefaultConfigDir         = "/etc/kubernetes"
	DefaultDockerEndpoint    = api.DefaultDockerEndpoint
	DefaultRootDir           = api.DefaultKubeletRootDir
)

// spellings returns the primary name and, for a multi-word flag, the other
// spelling as an alias: portal_net <-> portal-net.
func spellings(name string) (string, []string) {
	switch {
	case strings.Contains(name, "_"):
		return name, []string{strings.ReplaceAll(name, "_", "-")}
	case strings.Contains(name, "-"):
		return name, []string{strings.ReplaceAll(name, "-", "_")}
	}
	return name, nil
}

// envVar is the environment fallback of a flag: KUBELITE_PORTAL_NET.
func envVar(name string) string {
	return "KUBELITE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func strFlag(p *string, name, value, category, usage string, extraEnv ...string) *cli.StringFlag {
	n, aliases := spellings(name)
	return &cli.StringFlag{Name: n, Aliases: aliases, Value: value, Destination: p, Category: category,
		Usage: usage, EnvVars: append([]string{envVar(n)}, extraEnv...)}
}

func boolFlag(p *bool, name string, value bool, category, usage string) *cli.BoolFlag {
	n, aliases := spellings(name)
	return &cli.BoolFlag{Name: n, Aliases: aliases, Value: value, Destination: p, Category: category,
		Usage: usage, EnvVars: []string{envVar(n)}}
}

func intFlag(p *int, name string, value int, category, usage string) *cli.IntFlag {
	n, aliases := spellings(name)
	return &cli.IntFlag{Name: n, Aliases: aliases, Value: value, Destination: p, Category: category,
		Usage: usage, EnvVars: []string{envVar(n)}}
}

func durFlag(p *time.Duration, name string, value time.Duration, category, usage string) *cli.DurationFlag {
	n, aliases := spellings(name)
	return &cli.DurationFlag{Name: n, Aliases: aliases, Value: value, Destination: p, Category: category,
		Usage: usage, EnvVars: []string{envVar(n)}}
}

func commonFlags(l *Logging, allowPriv *bool, configDir *string, printConfig *bool, configDirDefault string) []cli.Flag {
	return []cli.Flag{
		boolFlag(allowPriv, "allow_privileged", false, catKubelet, "allow pods to run privileged containers"),
		intFlag(&l.V, "v", 0, catLogging, "log level: 0 info, 1 or more debug"),
		strFlag(&l.Format, "log-format", "text", catLogging, "log lines as text (logfmt, RFC 3339 UTC times) or json (one object per line)"),
		boolFlag(&l.LogToStderr, "logtostderr", true, catLogging, "log to stderr (kubelite always does; accepted for the tutorial's files)"),
		strFlag(configDir, "config-dir", configDirDefault, catFiles, "directory of the tutorial's env files (config, apiserver, ...); \"\" reads none"),
		boolFlag(printConfig, "print-config", false, catFiles, "print the resolved flags with where each value came from, and exit"),
	}
}

// masterFlags binds the master's flags to m. address and dataDir are the
// role's defaults (standalone listens on loopback).
func masterFlags(m *Master, address, dataDir, configDir string) []cli.Flag {
	fl := []cli.Flag{
		strFlag(&m.Address, "address", address, catAPI, "IP the API listens on (TLS; every request needs a credential, see README Security)"),
		intFlag(&m.Port, "port", DefaultAPIPort, catAPI, "port the API listens on"),
		strFlag(&m.MasterAddr, "master", "", catAPI, "accepted from the tutorial's apiserver file; the master's own controllers need no address"),
		strFlag(&m.raw.tlsSANs, "tls-san", "", catAPI, "extra host names or IPs for the API's serving certificate, comma separated"),
		boolFlag(&m.Insecure, "insecure", false, catAPI, "serve the API as in 2014: plain HTTP, no authentication, anonymous minions (warned at every start)"),
		intFlag(&m.KubeletPort, "kubelet_port", DefaultKubeletPort, catKubelet, "port the minions' kubelets listen on"),

		strFlag(&m.raw.etcdServers, "etcd_servers", "", catEtcd, "external etcd client URLs, comma separated (e.g. http://192.168.1.10:4001)"),
		boolFlag(&m.EtcdEmbed, "etcd-embed", false, catEtcd, "run etcd inside this process"),
		strFlag(&m.EtcdAddr, "etcd-addr", DefaultEtcdAddr, catEtcd, "client host:port of the embedded etcd"),
		strFlag(&m.EtcdPeerAddr, "etcd-peer-addr", DefaultEtcdPeerAddr, catEtcd, "peer host:port of the embedded etcd"),
		strFlag(&m.DataDir, "data-dir", dataDir, catEtcd, "directory for the embedded etcd, the cluster's CA, tokens and admin.kubeconfig"),
		intFlag(&m.EtcdQuotaMB, "etcd-quota-mb", 2048, catEtcd, "space quota of the embedded etcd, in MiB: beyond it writes answer 507 while kubelite compacts and defragments"),
		strFlag(&m.EtcdCAFile, "etcd-cafile", "", catEtcd, "CA certificate that signed the external etcd's certificates"),
		strFlag(&m.EtcdCertFile, "etcd-certfile", "", catEtcd, "client certificate for the external etcd"),
		strFlag(&m.EtcdKeyFile, "etcd-keyfile", "", catEtcd, "client key for the external etcd"),

		strFlag(&m.raw.portalNet, "portal_net", DefaultPortalNet, catNetwork, "IP range services' portal IPs are allocated from"),
		strFlag(&m.raw.clusterCIDR, "cluster_cidr", DefaultClusterCIDR, catNetwork, "IP range pods get addresses from, one subnet per minion"),

		strFlag(&m.raw.machines, "machines", "", catControl, "static minion list, comma separated (the tutorial's controller-manager file)"),
		durFlag(&m.NodeMonitorGracePeriod, "node_monitor_grace_period", 15*time.Second, catControl, "how long a minion may be silent before it is NotReady (kubelets heartbeat every 5s)"),
		durFlag(&m.ReplicaEvictionTimeout, "replica_eviction_timeout", 0, catControl, "how long pods a replication controller selects stay on a NotReady minion before they are replaced elsewhere (0: at once)"),
		durFlag(&m.PodEvictionTimeout, "pod_eviction_timeout", 60*time.Second, catControl, "how long other pods (nothing recreates them) stay on a NotReady minion before they are deleted"),
		intFlag(&m.MaxReplicas, "max-replicas", 10000, catControl, "the most replicas a replication controller may ask for"),
		intFlag(&m.MaxObjectsPerNamespace, "max-objects-per-namespace", 50000, catControl, "the most objects of one kind in one namespace"),
		intFlag(&m.MemoryLimitMB, "memory-limit-mb", 0, catControl, "soft memory limit of this process in MiB: the garbage collector works harder near it instead of growing the heap; 0: GOMEMLIMIT if set, else half the machine's (or cgroup's) memory"),
		durFlag(&m.LeaderLease, "leader-lease", 15*time.Second, catControl, "lease of the master that runs the scheduler and controllers: another master takes over within it (whole seconds, at least 2s)"),
	}
	return append(fl, commonFlags(&m.Logging, &m.AllowPrivileged, &m.ConfigDir, &m.PrintConfig, configDir)...)
}

// minionOnlyFlags are the minion's flags a master does not have.
func minionOnlyFlags(n *Minion, rootDir string) []cli.Flag {
	return []cli.Flag{
		strFlag(&n.HostnameOverride, "hostname_override", "", catKubelet, "name this minion registers as (default: the host name)"),
		strFlag(&n.HostIP, "host-ip", "", catKubelet, "IP other hosts reach this minion on (default: detected)"),
		strFlag(&n.raw.labels, "labels", "", catKubelet, "labels of this minion, k=v,k2=v2"),
		strFlag(&n.DockerEndpoint, "docker-endpoint", DefaultDockerEndpoint, catKubelet, "Docker Engine endpoint (unix://; tcp:// only with TLS)", "DOCKER_HOST"),
		strFlag(&n.RootDir, "root-dir", rootDir, catKubelet, "directory for pod volumes"),
		strFlag(&n.Runtime, "runtime", "docker", catKubelet, "container runtime: docker or fake"),
		durFlag(&n.SyncFrequency, "sync_frequency", 10*time.Second, catKubelet, "how often the kubelet resyncs every pod"),
		strFlag(&n.ProxyMode, "proxy-mode", "iptables", catProxy, "service proxy: iptables, userspace or none"),
		strFlag(&n.Network, "network", "bridge", catNetwork, "pod network: bridge (one subnet per minion) or none"),
		strFlag(&n.PodAttach, "pod-attach", "kubelet", catNetwork, "who attaches a pod without host ports to the bridge: kubelet (a veth; the engine sets up no DNS resolver per pod) or docker (the engine's network)"),
		strFlag(&n.PodInfra, "pod-infra", "auto", catNetwork, "auto: a pod of one container without host ports runs alone, holding its own network (one container a pod, not two); always: every pod has an infra container holding its network, as Kubernetes v0.6"),
		boolFlag(&n.CleanupIPTables, "cleanup-iptables", false, catProxy, "remove kubelite's iptables rules and exit"),
	}
}

// minionFlags binds the minion's flags to n.
func minionFlags(n *Minion) []cli.Flag {
	fl := []cli.Flag{
		strFlag(&n.Master, "master", "", catKubelet, "the master's API, HOST:PORT (e.g. 192.168.1.200:8080; TLS), or http://HOST:PORT for an --insecure master; several masters as a comma list (m1:8080,m2:8080,m3:8080): the minion moves to another when its master fails"),
		strFlag(&n.Token, "token", "", catKubelet, "the join token the master's `kubelite token` prints (K10...)"),
		strFlag(&n.TokenFile, "token-file", DefaultConfigDir+"/token", catKubelet, "file holding the join token, read when --token is not given"),
		strFlag(&n.Address, "address", "0.0.0.0", catKubelet, "IP the kubelet listens on"),
		intFlag(&n.Port, "port", DefaultKubeletPort, catKubelet, "port the kubelet listens on"),
		strFlag(&n.raw.etcdServers, "etcd_servers", "", catEtcd, "accepted from the tutorial's config file and ignored: a minion talks only to the API"),
		strFlag(&n.raw.clusterCIDR, "cluster_cidr", DefaultClusterCIDR, catNetwork, "the master's --cluster_cidr: pod traffic inside it is routed, not masqueraded"),
	}
	fl = append(fl, minionOnlyFlags(n, DefaultRootDir)...)
	return append(fl, commonFlags(&n.Logging, &n.AllowPrivileged, &n.ConfigDir, &n.PrintConfig, DefaultConfigDir)...)
}

// standaloneFlags: every master flag, then the minion's own flags, then
// --reset and --yes.
func standaloneFlags(s *Standalone) []cli.Flag {
	fl := masterFlags(&s.Master, "127.0.0.1", "", "")
	for _, f := range fl {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == "data-dir" {
			sf.DefaultText = DefaultDataDir + ", or ~/.kubelite when not root"
		}
		// One machine plays master and minion: the tutorial's apache pod takes
		// hostPort 8080 there, so the API moves next door.
		if pf, ok := f.(*cli.IntFlag); ok && pf.Name == "port" {
			pf.Value = DefaultStandaloneAPIPort
			pf.Usage = "port the API listens on (not 8080: the tutorial's apache pod takes hostPort 8080 on this machine)"
		}
	}
	only := minionOnlyFlags(&s.Minion, "")
	for _, f := range only {
		if sf, ok := f.(*cli.StringFlag); ok && sf.Name == "root-dir" {
			sf.DefaultText = "DATA-DIR/kubelet"
		}
	}
	fl = append(fl, only...)
	return append(fl,
		boolFlag(&s.Reset, "reset", false, catStandalone, "wipe the standalone cluster's state and containers, then exit"),
		boolFlag(&s.Yes, "yes", false, catStandalone, "do not ask before --reset"),
	)
}

// NewMaster returns an empty Master and its flags, bound to it. Parse the
// flags with a cli.Command, then call Load.
func NewMaster() (*Master, []cli.Flag) {
	m := &Master{}
	fl := masterFlags(m, "0.0.0.0", DefaultDataDir, DefaultConfigDir)
	return m, append(fl,
		strFlag(&m.Join, "join", "", catEtcd, "HOST:PORT of a running master: join its cluster as another master (with --etcd-embed and --token)"),
		strFlag(&m.Restore, "restore", "", catEtcd, "snapshot file (kubelite etcd snapshot save) to bring a cluster back from, into a new --data-dir holding the old master's pki/"),
		strFlag(&m.JoinToken, "token", "", catEtcd, "the master token (K10...) that kubelite token --master prints on a running master, for --join"),
	)
}

// NewMinion returns an empty Minion and its flags, bound to it.
func NewMinion() (*Minion, []cli.Flag) {
	n := &Minion{}
	return n, minionFlags(n)
}

// NewStandalone returns an empty Standalone and its flags, bound to it.
func NewStandalone() (*Standalone, []cli.Flag) {
	s := &Standalone{}
	return s, standaloneFlags(s)
}
