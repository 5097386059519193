package api

// Defaults of a kubelite host, as the tutorial's files set them: the one
// definition of each. They live here, beside DefaultKubeletPort, because
// every package may import api and api imports none: config, the embedded
// etcd, the kubelet, the Docker runtime, admission, the lab and the tests
// take the same value without importing each other.
const (
	// DefaultEtcdClientAddr is the embedded etcd's client host:port
	// (--etcd-addr), the tutorial's 4001.
	DefaultEtcdClientAddr = "127.0.0.1:4001"
	// DefaultEtcdPeerAddr is the embedded etcd's peer host:port.
	DefaultEtcdPeerAddr = "127.0.0.1:7001"
	// DefaultDataDir is a master's data directory (--data-dir, when root).
	DefaultDataDir = "/var/lib/kubelite"
	// DefaultKubeletRootDir is the kubelet's root directory (--root-dir):
	// pod directories and emptyDir volumes.
	DefaultKubeletRootDir = "/var/lib/kubelet"
	// DefaultDockerEndpoint is the Docker Engine's socket (--docker-endpoint
	// when DOCKER_HOST is unset).
	DefaultDockerEndpoint = "unix:///var/run/docker.sock"
	// DefaultPortalNet is the range services' portal IPs come from
	// (--portal_net).
	DefaultPortalNet = "10.254.0.0/16"
)
