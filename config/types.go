package config

import (
	"net/netip"
	"time"
)

// Logging holds the logging flags every role takes.
type Logging struct {
	V           int    // --v: 0 info, 1 and more debug
	LogToStderr bool   // --logtostderr: accepted for the tutorial's files; kubelite always logs to stderr
	Format      string // --log-format: text or json (checked by Load: see logging.ParseFormat)
}

// Master is the resolved configuration of `kubelite master`.
type Master struct {
	Address     string // --address: API listen IP
	Port        int    // --port: API port
	MasterAddr  string // --master: how the tutorial's controllers found the API; informational
	KubeletPort int    // --kubelet_port: the port minions' kubelets listen on

	EtcdServers  []string // --etcd_servers: external etcd client URLs
	EtcdEmbed    bool     // --etcd-embed: run etcd inside the process
	EtcdAddr     string   // --etcd-addr: client host:port of the embedded etcd
	EtcdPeerAddr string   // --etcd-peer-addr: peer host:port of the embedded etcd
	DataDir      string   // --data-dir: embedded etcd data and other state

	PortalNet   netip.Prefix // --portal_net: service portal IP range
	ClusterCIDR netip.Prefix // --cluster_cidr: pod IP range, split into one subnet per minion

	Machines               []string      // --machines: static minion list
	NodeMonitorGracePeriod time.Duration // --node_monitor_grace_period
	PodEvictionTimeout     time.Duration // --pod_eviction_timeout
	ReplicaEvictionTimeout time.Duration // --replica_eviction_timeout
	MaxReplicas            int           // --max-replicas: the most replicas an RC may ask for
	MaxObjectsPerNamespace int           // --max-objects-per-namespace: per kind
	LeaderLease            time.Duration // --leader-lease: lease of the master that runs the scheduler and controllers
	// Join (--join HOST:PORT, master only) adds this master to the cluster
	// of a running master, with its master token JoinToken (--token, never
	// printed).
	Join      string
	JoinToken string `json:"-"`
	// Restore (--restore FILE) fills a new data dir's etcd from a snapshot
	// (`kubelite etcd snapshot save`) at the first start.
	Restore string

	// Insecure (--insecure) restores the 2014 API: plain HTTP, no
	// authentication, anonymous minions.
	Insecure bool
	TLSSANs  []string // --tls-san: extra names and IPs of the API's serving certificate

	EtcdQuotaMB int // --etcd-quota-mb: the embedded etcd's space quota

	MemoryLimitMB int // --memory-limit-mb: the Go runtime's soft memory limit (0: GOMEMLIMIT, else half the machine's or cgroup's memory)

	EtcdCAFile, EtcdCertFile, EtcdKeyFile string // --etcd-cafile, --etcd-certfile, --etcd-keyfile: TLS to an external etcd

	AllowPrivileged bool
	Logging         Logging
	ConfigDir       string
	PrintConfig     bool // --print-config: print the resolved configuration and exit

	// Files lists the config files that were read, in order.
	Files []string

	raw rawMaster
}

type rawMaster struct {
	etcdServers, portalNet, clusterCIDR, machines, tlsSANs string
	// overridden is the flag of an exclusive pair whose config-file value
	// gave way to its partner on the command line ("" when none did).
	overridden, winner string
}

// APIAddr returns the host:port the API listens on.
func (m *Master) APIAddr() string { return joinHostPort(m.Address, m.Port) }

// LocalAPIURL is the API's URL from this host: https (http with --insecure)
// on the listen address, loopback when it listens on every address.
func (m *Master) LocalAPIURL() string {
	host := m.Address
	if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "https"
	if m.Insecure {
		scheme = "http"
	}
	return scheme + "://" + joinHostPort(host, m.Port)
}

// Minion is the resolved configuration of `kubelite minion`.
type Minion struct {
	Master    string // --master as given, e.g. 192.168.1.200:8080
	MasterURL string // derived: https://192.168.1.200:8080 (http:// only when given so: an --insecure master)
	// MoreMasterURLs are derived from a --master list (m1:8080,m2:8080,...):
	// the masters after the first, tried when the current one fails.
	MoreMasterURLs []string `json:",omitempty"`

	// Token is the join token (--token, $KUBELITE_TOKEN, else the file
	// TokenFile); "" when the master is plain HTTP or in standalone.
	Token     string `json:"-"`
	TokenFile string // --token-file: read when --token is not given

	HostnameOverride string // --hostname_override as given
	Hostname         string // derived: the override, or this machine's host name (lower case)
	Address          string // --address: kubelet listen IP
	Port             int    // --port: kubelet port
	HostIP           string // --host-ip: address other hosts reach this minion on ("" = detect)
	Labels           map[string]string

	DockerEndpoint string        // --docker-endpoint
	RootDir        string        // --root-dir
	Runtime        string        // --runtime: docker | fake
	SyncFrequency  time.Duration // --sync_frequency

	ProxyMode       string       // --proxy-mode: iptables | userspace | none
	Network         string       // --network: bridge | none
	PodAttach       string       // --pod-attach: kubelet | docker
	PodInfra        string       // --pod-infra: auto | always
	ClusterCIDR     netip.Prefix // --cluster_cidr: every pod subnet (the master's --cluster_cidr)
	CleanupIPTables bool         // --cleanup-iptables: remove kubelite's rules and exit

	// EtcdServers is accepted because the tutorial's shared config file sets
	// it; a minion talks only to the API and ignores it.
	EtcdServers []string

	AllowPrivileged bool
	Logging         Logging
	ConfigDir       string
	PrintConfig     bool

	Files []string

	raw rawMinion
}

type rawMinion struct {
	etcdServers, labels, clusterCIDR string
}

// KubeletAddr returns the host:port the kubelet listens on.
func (n *Minion) KubeletAddr() string { return joinHostPort(n.Address, n.Port) }

// Standalone is the resolved configuration of `kubelite standalone`: a
// master and a minion in one process. Flags shared by both roles (--address,
// --port, --allow_privileged, --v, ...) mean what they mean on a master; the
// minion half is derived: its kubelet listens on --address:--kubelet_port and
// it talks to the local API.
type Standalone struct {
	Master Master
	Minion Minion
	Reset  bool // --reset: wipe state and containers
	Yes    bool // --yes: do not ask before --reset
}
