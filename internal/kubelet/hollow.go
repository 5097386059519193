package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/images"
	"kubelite/internal/logging"
	"kubelite/internal/runtime/fake"
	"kubelite/internal/store"
)

// NewHollow returns one kubelet on a fresh fake runtime (pods start at once
// with unique fake IPs). It watches the store itself; for many hollow
// minions in one process use a Fleet, which shares one watch.
func NewHollow(st store.Store, name string, mod func(*Config)) (*Kubelet, *fake.Runtime, error) {
	rt := fake.New(fake.Options{Images: []string{images.Pause}})
	cfg := Config{NodeName: name, HostIP: "127.0.0.1", Store: st, Runtime: rt, RootDir: "/nonexistent/kubelite-hollow", NoEvents: false,
		Capacity: api.Capacity{CPU: 4000, Memory: 16 << 30}}
	if mod != nil {
		mod(&cfg)
	}
	k, err := New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return k, rt, nil
}

// FleetConfig configures a Fleet of hollow minions.
type FleetConfig struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log   *logrus.Entry
	Store store.Store
	// Count minions named <Prefix><i>, i = 0..Count-1 (Prefix default "hollow-").
	Count  int
	Prefix string
	// Capacity of each minion (default 4 cores, 16 GiB); Labels of each.
	Capacity api.Capacity
	Labels   map[string]string
	// HostIP reported by every minion (default 127.0.0.1; hollow minions
	// serve nothing on it).
	HostIP string
	// SyncFrequency (default 30 s) and HeartbeatInterval (default
	// DefaultHeartbeatInterval, as a real kubelet's).
	SyncFrequency     time.Duration
	HeartbeatInterval time.Duration
	// Events, when true, lets hollow kubelets record events.
	Events bool
}

// Fleet runs many hollow kubelets in one process. They share one watch on
// bound pods and one on services; each runs the same kubelet code on its
// own fake runtime.
type Fleet struct {
	cfg      FleetConfig
	pods     *store.Informer
	services *store.Informer
	log      *logrus.Entry

	kubelets map[string]*Kubelet
	runtimes map[string]*fake.Runtime
	names    []string

	mu     sync.RWMutex
	byHost map[string]map[string]bool    // host -> pod keys
	hostOf map[string]string             // pod key -> host
	stops  map[string]context.CancelFunc // minion -> stops its kubelet (see Stop)
}

// NewFleet builds a fleet; Run starts it.
func NewFleet(cfg FleetConfig) (*Fleet, error) {
	if cfg.Store == nil || cfg.Count <= 0 {
		return nil, errors.New("fleet config: Store and a positive Count are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "hollow-"
	}
	if cfg.Capacity == (api.Capacity{}) {
		cfg.Capacity = api.Capacity{CPU: 4000, Memory: 16 << 30}
	}
	if cfg.HostIP == "" {
		cfg.HostIP = "127.0.0.1"
	}
	if cfg.SyncFrequency <= 0 {
		cfg.SyncFrequency = 30 * time.Second
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = DefaultHeartbeatInterval
	}
	f := &Fleet{
		cfg: cfg, log: logging.OrDiscard(cfg.Log),
		kubelets: map[string]*Kubelet{}, runtimes: map[string]*fake.Runtime{},
		byHost: map[string]map[string]bool{}, hostOf: map[string]string{},
	}
	bound, err := api.ParseSelector(api.FieldDesiredStateHost + "!=")
	if err != nil {
		return nil, err
	}
	f.pods = store.NewInformer(cfg.Store, api.Pods, store.ListOptions{Fields: bound}, f.route).WithLog(f.log)
	f.services = store.NewInformer(cfg.Store, api.Services, store.ListOptions{}, nil).WithLog(f.log)
	for i := 0; i < cfg.Count; i++ {
		name := fmt.Sprintf("%s%d", cfg.Prefix, i)
		k, rt, err := NewHollow(cfg.Store, name, func(c *Config) {
			c.Log = cfg.Log
			c.HostIP = cfg.HostIP
			c.Capacity = cfg.Capacity
			c.Labels = cfg.Labels
			c.SyncFrequency = cfg.SyncFrequency
			c.HeartbeatInterval = cfg.HeartbeatInterval
			c.NoEvents = !cfg.Events
			c.Pods = hostView{f: f, host: name}
			c.Services = f.services
			c.InfraBinary = "/hollow/kubelite" // the fake build only records the spec
		})
		if err != nil {
			return nil, err
		}
		f.kubelets[name], f.runtimes[name] = k, rt
		f.names = append(f.names, name)
	}
	return f, nil
}

// Name implements component.Component.
func (f *Fleet) Name() string { return "hollow-fleet" }

// Names lists the fleet's minion names.
func (f *Fleet) Names() []string { return append([]string(nil), f.names...) }

// Runtime returns the fake runtime of minion name (nil when unknown).
func (f *Fleet) Runtime(name string) *fake.Runtime { return f.runtimes[name] }

// Kubelet returns the kubelet of minion name (nil when unknown).
func (f *Fleet) Kubelet(name string) *Kubelet { return f.kubelets[name] }

// route files a changed pod under its host and queues it on the kubelets
// concerned (the old host too when it moved or went away).
func (f *Fleet) route(key string) {
	host := ""
	if o, ok := f.pods.Get(key); ok {
		if p, ok := o.(*api.Pod); ok {
			host = p.DesiredState.Host
		}
	}
	f.mu.Lock()
	old := f.hostOf[key]
	if old != host {
		if old != "" {
			delete(f.byHost[old], key)
		}
		if host != "" {
			if f.byHost[host] == nil {
				f.byHost[host] = map[string]bool{}
			}
			f.byHost[host][key] = true
			f.hostOf[key] = host
		} else {
			delete(f.hostOf, key)
		}
	}
	f.mu.Unlock()
	if k := f.kubelets[host]; k != nil {
		k.podChanged(key)
	}
	if old != host {
		if k := f.kubelets[old]; k != nil {
			k.Enqueue(key)
		}
	}
}

// hostView is one kubelet's view of the shared pod cache.
type hostView struct {
	f    *Fleet
	host string
}

func (v hostView) Get(key string) (api.Object, bool) {
	o, ok := v.f.pods.Get(key)
	if !ok {
		return nil, false
	}
	if p, ok := o.(*api.Pod); !ok || p.DesiredState.Host != v.host {
		return nil, false
	}
	return o, true
}

func (v hostView) List() []api.Object {
	v.f.mu.RLock()
	keys := make([]string, 0, len(v.f.byHost[v.host]))
	for k := range v.f.byHost[v.host] {
		keys = append(keys, k)
	}
	v.f.mu.RUnlock()
	sort.Strings(keys)
	out := make([]api.Object, 0, len(keys))
	for _, k := range keys {
		if o, ok := v.Get(k); ok {
			out = append(out, o)
		}
	}
	return out
}

// Run starts the shared watches, then every kubelet; started is called once
// all have started. It returns when ctx ends.
func (f *Fleet) Run(ctx context.Context, started func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, inf := range []*store.Informer{f.pods, f.services} {
		wg.Add(1)
		go func() { defer wg.Done(); inf.Run(ctx) }()
	}
	for _, inf := range []*store.Informer{f.pods, f.services} {
		if !inf.WaitSynced(ctx) {
			return nil
		}
	}
	startedAll := make(chan struct{}, len(f.names))
	errc := make(chan error, len(f.names))
	for _, name := range f.names {
		k := f.kubelets[name]
		kctx, kcancel := context.WithCancel(ctx)
		f.mu.Lock()
		if f.stops == nil {
			f.stops = map[string]context.CancelFunc{}
		}
		f.stops[name] = kcancel
		f.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := k.Run(kctx, func() { startedAll <- struct{}{} }); err != nil {
				errc <- fmt.Errorf("hollow kubelet %s: %w", name, err)
			}
		}()
	}
	for range f.names {
		select {
		case <-startedAll:
		case err := <-errc:
			return err
		case <-ctx.Done():
			return nil
		}
	}
	f.log.WithField("minions", len(f.names)).Info("hollow fleet started")
	if started != nil {
		started()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}
