package kubelet

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/images"
	"kubelite/internal/logging"
	"kubelite/internal/record"
	"kubelite/internal/runtime"
	"kubelite/internal/store"
	"kubelite/internal/workqueue"
)

// Lister is a read-only cache of objects keyed by api.Key; store.Informer
// satisfies it. Objects handed out are shared: never mutate them.
type Lister interface {
	Get(key string) (api.Object, bool)
	List() []api.Object
}

// DefaultHeartbeatInterval is how often a kubelet heartbeats by default: the
// master's default grace period (15 s) is three of them missed.
const DefaultHeartbeatInterval = 5 * time.Second

// Config configures a Kubelet. Zero values take the defaults noted.
type Config struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log      *logrus.Entry
	NodeName string // required
	HostIP   string
	Store    store.Store     // required
	Runtime  runtime.Runtime // required
	Clock    clock.Clock     // default the wall clock
	// RootDir holds emptyDir volumes (default /var/lib/kubelet).
	RootDir           string
	SyncFrequency     time.Duration // default 10 s
	HeartbeatInterval time.Duration // default DefaultHeartbeatInterval
	// MinionRefresh is how often the minion is written when the store
	// records heartbeats apart from it (store.Heartbeater): its
	// LastHeartbeat, for readers (default 5 minutes, plus up to a fifth).
	MinionRefresh   time.Duration
	GracePeriod     time.Duration // default 10 s
	ProbePeriod     time.Duration // default 10 s
	AllowPrivileged bool
	// Protected are host paths no hostDir may be, be above or be below,
	// beyond internal/admission's built-in list; RootDir is always added.
	Protected []string
	// ResolvePath follows a hostDir's symbolic links on this host (default
	// ResolveHostPath); the resolved path is admitted again and bound.
	ResolvePath func(path string) (string, error)
	Capacity    api.Capacity
	Labels      map[string]string
	// Port is the kubelet HTTP port advertised on the minion (default
	// api.DefaultKubeletPort).
	Port int
	// InfraImage is the pod infra image (default images.Pause); when absent
	// it is built from InfraBinary (default: this process's executable).
	InfraImage  string
	InfraBinary string
	// KeepDead is how many dead containers to keep per pod container (default 2).
	KeepDead int
	// Pods and Services, when set, replace the kubelet's own informers (a
	// Fleet shares one watch among many kubelets); the owner then calls
	// Enqueue for changed pod keys.
	Pods     Lister
	Services Lister
	// NoEvents suppresses event objects (hollow fleets).
	NoEvents bool
	// Recorder writes the kubelet's events (Pulling, Pulled, Failed,
	// Created, Started, Killing, BackOff, Unhealthy, Refused); nil means a
	// record.Store over Store with source "kubelet NODE" (rate-limited and
	// deduplicated), record.Nop with NoEvents.
	Recorder record.FieldRecorder
	// MaxParallelStarts bounds how many pods start containers at once
	// (default 4): in a burst the engine's throughput is the limit, and a
	// bound lets the first pods finish first instead of all finishing
	// last. A pod takes a slot at its first start and keeps it to the end
	// of that sync; stops before it and probes take none.
	MaxParallelStarts int
	// Network is the pod network mode: NetworkBridge puts every pod's infra
	// container on a bridge network of the engine with this minion's
	// podCIDR (assigned by the master; no pod is synced until the network
	// exists); "" or NetworkNone keeps the engine's default bridge.
	Network string
	// PodNetwork and PodBridge name that network and its Linux bridge
	// (default DefaultPodNetwork, DefaultPodBridge).
	PodNetwork string
	PodBridge  string
	// PodInfra is PodInfraAuto (the default, also for ""): a pod that Solo
	// allows runs as its app container alone, holding its own network; or
	// PodInfraAlways: every pod gets an infra container (kubelite before
	// issue 16, and Kubernetes v0.6).
	PodInfra string
}

// Pod infra modes (Config.PodInfra).
const (
	PodInfraAuto   = "auto"
	PodInfraAlways = "always"
)

// CheckPodInfra refuses an unknown pod infra mode.
func CheckPodInfra(mode string) error {
	switch mode {
	case "", PodInfraAuto, PodInfraAlways:
		return nil
	}
	return fmt.Errorf("pod infra %q: want %s or %s", mode, PodInfraAuto, PodInfraAlways)
}

func (c *Config) defaults() error {
	if c.NodeName == "" || c.Store == nil || c.Runtime == nil {
		return errors.New("kubelet config: NodeName, Store and Runtime are required")
	}
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	switch {
	case c.NoEvents:
		c.Recorder = record.Nop{}
	case c.Recorder == nil:
		c.Recorder = record.New(c.Store, record.Config{Source: "kubelet " + c.NodeName, Clock: c.Clock})
	}
	if c.RootDir == "" {
		c.RootDir = api.DefaultKubeletRootDir
	}
	if c.ResolvePath == nil {
		c.ResolvePath = ResolveHostPath
	}
	if c.SyncFrequency <= 0 {
		c.SyncFrequency = 10 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.MinionRefresh <= 0 {
		c.MinionRefresh = 5 * time.Minute
	}
	if c.GracePeriod <= 0 {
		c.GracePeriod = 10 * time.Second
	}
	if c.ProbePeriod <= 0 {
		c.ProbePeriod = 10 * time.Second
	}
	if c.Port == 0 {
		c.Port = api.DefaultKubeletPort
	}
	if c.InfraImage == "" {
		c.InfraImage = images.Pause
	}
	if c.KeepDead <= 0 {
		c.KeepDead = 2
	}
	if c.MaxParallelStarts <= 0 {
		c.MaxParallelStarts = 4
	}
	if err := CheckPodInfra(c.PodInfra); err != nil {
		return fmt.Errorf("kubelet config: %w", err)
	}
	switch c.Network {
	case "", NetworkNone, NetworkBridge:
	default:
		return fmt.Errorf("kubelet config: network %q: want %s or %s", c.Network, NetworkBridge, NetworkNone)
	}
	if c.PodNetwork == "" {
		c.PodNetwork = DefaultPodNetwork
	}
	if c.PodBridge == "" {
		c.PodBridge = DefaultPodBridge
	}
	return nil
}

// Kubelet runs the pods bound to one minion.
type Kubelet struct {
	cfg      Config
	log      *logrus.Entry
	queue    *workqueue.Queue
	pods     Lister
	services Lister
	own      []*store.Informer // informers this kubelet runs itself
	prober   *prober
	net      *podNet // nil unless Network is NetworkBridge

	mu         sync.Mutex
	pulls      map[string]map[string]PullState // pod uid -> container -> pulls
	unhealthy  map[string]probeFailure         // container id
	waiting    map[string]map[string]string    // pod key -> last waiting reasons
	written    map[string]uint64               // pod key -> version our last status write made
	refused    map[string]string               // pod key -> why admission refused it (event sent)
	failing    map[string]*logging.Repeater    // pod key -> its sync failures, until one succeeds
	podMetrics podMetrics                      // start durations and running pods
	infraMu    sync.Mutex                      // one infra image build at a time
	starts     chan struct{}                   // semaphore of MaxParallelStarts
}

// New returns a kubelet; Run starts it.
func New(cfg Config) (*Kubelet, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	k := &Kubelet{
		cfg:        cfg,
		log:        logging.OrDiscard(cfg.Log).WithField("minion", cfg.NodeName),
		queue:      workqueue.New(cfg.Clock, 500*time.Millisecond, BackoffMax).Named("kubelet"),
		pulls:      map[string]map[string]PullState{},
		unhealthy:  map[string]probeFailure{},
		waiting:    map[string]map[string]string{},
		written:    map[string]uint64{},
		refused:    map[string]string{},
		failing:    map[string]*logging.Repeater{},
		starts:     make(chan struct{}, cfg.MaxParallelStarts),
		podMetrics: newPodMetrics(),
	}
	k.pods, k.services = cfg.Pods, cfg.Services
	if k.pods == nil {
		sel, err := api.ParseSelector(api.FieldDesiredStateHost + "=" + cfg.NodeName)
		if err != nil {
			return nil, fmt.Errorf("pod selector: %w", err)
		}
		inf := store.NewInformer(cfg.Store, api.Pods, store.ListOptions{Fields: sel}, k.podChanged).WithLog(k.log)
		k.pods = inf
		k.own = append(k.own, inf)
	}
	if k.services == nil {
		inf := store.NewInformer(cfg.Store, api.Services, store.ListOptions{}, nil).WithLog(k.log)
		k.services = inf
		k.own = append(k.own, inf)
	}
	if cfg.Network == NetworkBridge {
		n, err := newPodNet(k)
		if err != nil {
			return nil, err
		}
		k.net = n
		k.own = append(k.own, n.minions)
	}
	k.prober = newProber(k)
	return k, nil
}

// Name implements component.Component.
func (k *Kubelet) Name() string { return "kubelet" }
