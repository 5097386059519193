package kubelet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/images"
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

// Config configures a Kubelet. Zero values take the defaults noted.
type Config struct {
	NodeName string // required
	HostIP   string
	Store    store.Store     // required
	Runtime  runtime.Runtime // required
	Clock    clock.Clock     // default the wall clock
	// RootDir holds emptyDir volumes (default /var/lib/kubelet).
	RootDir           string
	SyncFrequency     time.Duration // default 10 s
	HeartbeatInterval time.Duration // default 5 s
	GracePeriod       time.Duration // default 10 s
	ProbePeriod       time.Duration // default 10 s
	AllowPrivileged   bool
	// Protected are host paths no hostDir may be, be above or be below,
	// beyond internal/admission's built-in list; RootDir is always added.
	Protected []string
	// ResolvePath follows a hostDir's symbolic links on this host (default
	// ResolveHostPath); the resolved path is admitted again and bound.
	ResolvePath func(path string) (string, error)
	Capacity    api.Capacity
	Labels      map[string]string
	// Port is the kubelet HTTP port advertised on the minion (default 10250).
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
		c.RootDir = "/var/lib/kubelet"
	}
	if c.ResolvePath == nil {
		c.ResolvePath = ResolveHostPath
	}
	if c.SyncFrequency <= 0 {
		c.SyncFrequency = 10 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 5 * time.Second
	}
	if c.GracePeriod <= 0 {
		c.GracePeriod = 10 * time.Second
	}
	if c.ProbePeriod <= 0 {
		c.ProbePeriod = 10 * time.Second
	}
	if c.Port == 0 {
		c.Port = 10250
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
	unhealthy  map[string]string               // container id -> probe failure
	waiting    map[string]map[string]string    // pod key -> last waiting reasons
	written    map[string]uint64               // pod key -> version our last status write made
	refused    map[string]string               // pod key -> why admission refused it (event sent)
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
		log:        logrus.WithFields(logrus.Fields{"component": "kubelet", "minion": cfg.NodeName}),
		queue:      workqueue.New(cfg.Clock, 500*time.Millisecond, BackoffMax).Named("kubelet"),
		pulls:      map[string]map[string]PullState{},
		unhealthy:  map[string]string{},
		waiting:    map[string]map[string]string{},
		written:    map[string]uint64{},
		refused:    map[string]string{},
		starts:     make(chan struct{}, cfg.MaxParallelStarts),
		podMetrics: newPodMetrics(),
	}
	k.pods, k.services = cfg.Pods, cfg.Services
	if k.pods == nil {
		sel, err := api.ParseSelector(api.FieldDesiredStateHost + "=" + cfg.NodeName)
		if err != nil {
			return nil, fmt.Errorf("pod selector: %w", err)
		}
		inf := store.NewInformer(cfg.Store, api.Pods, store.ListOptions{Fields: sel}, k.podChanged)
		k.pods = inf
		k.own = append(k.own, inf)
	}
	if k.services == nil {
		inf := store.NewInformer(cfg.Store, api.Services, store.ListOptions{}, nil)
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

// Enqueue asks for a sync of the pod with key namespace/id.
func (k *Kubelet) Enqueue(key string) { k.queue.Add(key) }

// podChanged is the pod cache's change callback: it queues the pod unless
// the cache now holds exactly the version this kubelet's own status write
// made. That version's spec is the one the writing sync acted on (the write
// was a compare-and-swap on it) and its status is what that sync computed,
// so syncing it again would find nothing to do: at 30,000 pods that is
// 30,000 syncs (container list, decision, status) saved.
func (k *Kubelet) podChanged(key string) {
	if o, ok := k.pods.Get(key); ok {
		rv := o.Meta().ResourceVersion
		k.mu.Lock()
		own := rv != 0 && k.written[key] == rv
		k.mu.Unlock()
		if own {
			return
		}
	}
	k.queue.Add(key)
}

// Run registers the minion, then syncs pods until ctx ends. started is
// called once the pod caches are loaded.
func (k *Kubelet) Run(ctx context.Context, started func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer k.clearPodMetrics()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, inf := range k.own {
		wg.Add(1)
		go func() { defer wg.Done(); inf.Run(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); k.heartbeatLoop(ctx) }()
	for _, inf := range k.own {
		if !inf.WaitSynced(ctx) {
			return nil
		}
	}
	if started != nil {
		started()
	}
	k.log.Info("kubelet started")
	if k.net != nil {
		wg.Add(1)
		go func() { defer wg.Done(); k.net.run(ctx) }()
	}
	k.prober.setContext(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); k.dispatch(ctx) }()
	wg.Add(1)
	go func() { defer wg.Done(); k.eventsLoop(ctx) }()
	k.resyncLoop(ctx)
	k.queue.ShutDown()
	return nil
}

// dispatch hands each queued key to its own goroutine; the queue never
// gives out a key that is being processed.
func (k *Kubelet) dispatch(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		key, ok := k.queue.Get()
		if !ok {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer k.queue.Done(key)
			if err := k.SyncPod(ctx, key); err != nil && ctx.Err() == nil {
				k.log.WithError(err).WithField("pod", key).Warn("sync failed; retrying")
				k.queue.AddRateLimited(key)
				return
			}
			k.queue.Forget(key)
		}()
	}
}

// eventsLoop queues the pod of every container that stops running.
func (k *Kubelet) eventsLoop(ctx context.Context) {
	for ctx.Err() == nil {
		ch, err := k.cfg.Runtime.Events(ctx)
		if err == nil {
			for ev := range ch {
				if ev.Labels[runtime.LabelMinion] != k.cfg.NodeName {
					continue
				}
				if ns, name := ev.Labels[runtime.LabelPodNamespace], ev.Labels[runtime.LabelPodName]; name != "" {
					k.queue.Add(ns + "/" + name)
				}
			}
		} else {
			k.log.WithError(err).Warn("container events")
		}
		select {
		case <-ctx.Done():
		case <-k.cfg.Clock.After(time.Second):
		}
	}
}

// resyncLoop queues every pod and runs housekeeping every SyncFrequency.
func (k *Kubelet) resyncLoop(ctx context.Context) {
	k.housekeeping(ctx)
	for {
		// Jitter spreads the work of many kubelets in one process.
		d := k.cfg.SyncFrequency + time.Duration(rand.Int64N(int64(k.cfg.SyncFrequency)/10+1))
		select {
		case <-ctx.Done():
			return
		case <-k.cfg.Clock.After(d):
		}
		for _, o := range k.pods.List() {
			k.queue.Add(api.Key(o))
		}
		k.housekeeping(ctx)
	}
}

// housekeeping queues pods whose containers run here but that are no longer
// bound here, and removes directories of pods that are gone.
func (k *Kubelet) housekeeping(ctx context.Context) {
	cs, err := k.list(ctx, runtime.ListOptions{})
	if err != nil {
		k.log.WithError(err).Warn("housekeeping: list containers")
		return
	}
	uids := map[string]bool{}
	for _, o := range k.pods.List() {
		uids[o.Meta().UID] = true
	}
	live := map[string]bool{}
	queued := map[string]bool{}
	for _, c := range cs {
		uid := c.Labels[runtime.LabelPodUID]
		live[c.ID] = true
		if uids[uid] {
			continue
		}
		key := c.Labels[runtime.LabelPodNamespace] + "/" + c.Labels[runtime.LabelPodName]
		if !queued[key] {
			queued[key] = true
			k.queue.Add(key)
		}
	}
	k.prober.prune(live)
	k.mu.Lock()
	for id := range k.unhealthy {
		if !live[id] {
			delete(k.unhealthy, id)
		}
	}
	k.mu.Unlock()
	// Directories of pods with no containers and no pod object.
	entries, err := os.ReadDir(filepath.Join(k.cfg.RootDir, "pods"))
	if err != nil {
		return
	}
	withContainers := map[string]bool{}
	for _, c := range cs {
		withContainers[c.Labels[runtime.LabelPodUID]] = true
	}
	for _, e := range entries {
		if uid := e.Name(); !uids[uid] && !withContainers[uid] {
			if err := os.RemoveAll(PodDir(k.cfg.RootDir, uid)); err != nil {
				k.log.WithError(err).Warn("remove pod directory")
			}
		}
	}
}

// network is the pod network infra containers must be on now.
func (k *Kubelet) network() PodNetwork {
	if k.net == nil {
		return PodNetwork{}
	}
	return k.net.network()
}

// list lists this minion's containers (see runtime.LabelMinion).
func (k *Kubelet) list(ctx context.Context, opts runtime.ListOptions) ([]runtime.Container, error) {
	labels := make(map[string]string, len(opts.Labels)+1)
	for key, v := range opts.Labels {
		labels[key] = v
	}
	labels[runtime.LabelMinion] = k.cfg.NodeName
	opts.Labels = labels
	return k.cfg.Runtime.List(ctx, opts)
}

// create creates (without starting) a container labelled with this minion's name.
func (k *Kubelet) create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	labels := make(map[string]string, len(spec.Labels)+1)
	for key, v := range spec.Labels {
		labels[key] = v
	}
	labels[runtime.LabelMinion] = k.cfg.NodeName
	spec.Labels = labels
	return k.cfg.Runtime.Create(ctx, spec)
}

// podFromCache returns a copy of the pod with key, or nil.
func (k *Kubelet) podFromCache(key string) *api.Pod {
	o, ok := k.pods.Get(key)
	if !ok {
		return nil
	}
	p, ok := o.(*api.Pod)
	if !ok || p.DesiredState.Host != k.cfg.NodeName {
		return nil
	}
	return api.Copy(p)
}

func splitKey(key string) (ns, name string) {
	ns, name, ok := strings.Cut(key, "/")
	if !ok {
		return api.DefaultNamespace, key
	}
	return ns, name
}

// SyncPod converges one pod: decide, apply, push status.
func (k *Kubelet) SyncPod(ctx context.Context, key string) error {
	if k.net != nil && !k.net.isReady() {
		// Judged against no network, every running infra would look
		// changed: wait (every pod is queued once the network exists).
		return k.waitForNetwork(ctx, key)
	}
	pod := k.podFromCache(key)
	ns, name := splitKey(key)
	cs, err := k.list(ctx, runtime.ListOptions{Labels: map[string]string{runtime.LabelPodNamespace: ns, runtime.LabelPodName: name}})
	if err != nil {
		return fmt.Errorf("sync pod %s: %w", key, err)
	}
	in := Input{Pod: pod, Containers: cs, Now: k.cfg.Clock.Now(), InfraImage: k.cfg.InfraImage, KeepDead: k.cfg.KeepDead, Network: k.network()}
	var hostPaths map[string]string
	if pod != nil {
		hostPaths, in.Refused = k.admit(pod)
		k.noteRefusal(ctx, key, pod, in.Refused)
	}
	k.mu.Lock()
	if pod != nil {
		in.Pulls = cloneMap(k.pulls[pod.UID])
	}
	in.Unhealthy = map[string]string{}
	for _, c := range cs {
		if msg, ok := k.unhealthy[c.ID]; ok {
			in.Unhealthy[c.ID] = msg
		}
	}
	k.mu.Unlock()
	plan := Decide(in)
	if pod != nil {
		k.notePodSeen(key, cs)
		k.backOffEvents(ctx, pod, plan.Waiting)
	}
	t0 := time.Now()
	applyErr := k.apply(ctx, pod, plan, in.Network, hostPaths)
	applied := time.Since(t0)
	if pod == nil {
		k.forget(key, cs)
		return applyErr
	}
	if plan.RequeueAfter > 0 {
		k.queue.AddAfter(key, plan.RequeueAfter)
	}
	// Re-read what runs now and push the status.
	if len(plan.Actions) > 0 {
		if cs, err = k.list(ctx, runtime.ListOptions{PodUID: pod.UID}); err != nil {
			return errors.Join(applyErr, fmt.Errorf("sync pod %s: %w", key, err))
		}
	}
	k.prober.ensure(key, pod, cs)
	k.mu.Lock()
	k.waiting[key] = plan.Waiting
	k.mu.Unlock()
	status := PodStatus(StatusInput{Pod: pod, Containers: cs, Waiting: plan.Waiting, Host: k.cfg.NodeName, HostIP: k.cfg.HostIP})
	k.notePodStatus(key, status.Status)
	t1 := time.Now()
	if err := k.pushStatus(ctx, pod, status); err != nil {
		return errors.Join(applyErr, err)
	}
	if len(plan.Actions) > 0 {
		k.log.WithFields(logrus.Fields{"pod": key, "actions": len(plan.Actions), "apply": applied.Round(time.Millisecond),
			"relist": t1.Sub(t0.Add(applied)).Round(time.Millisecond), "push": time.Since(t1).Round(time.Millisecond)}).Debug("pod synced")
	}
	return applyErr
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// forget drops what the kubelet remembers of a pod that is gone and removes
// its directories once its containers are gone.
func (k *Kubelet) forget(key string, cs []runtime.Container) {
	uids := map[string]bool{}
	for _, c := range cs {
		uids[c.Labels[runtime.LabelPodUID]] = true
	}
	k.mu.Lock()
	for uid := range uids {
		delete(k.pulls, uid)
	}
	for _, c := range cs {
		delete(k.unhealthy, c.ID)
	}
	k.mu.Unlock()
	k.prober.forgetPod(key)
	k.mu.Lock()
	delete(k.waiting, key)
	delete(k.written, key)
	delete(k.refused, key)
	k.forgetPodMetricsLocked(key)
	k.mu.Unlock()
	for uid := range uids {
		if uid == "" {
			continue
		}
		if err := os.RemoveAll(PodDir(k.cfg.RootDir, uid)); err != nil {
			k.log.WithError(err).WithField("pod", key).Warn("remove pod directory")
		}
	}
}

// apply carries out a plan. Stops run concurrently (each waits out its grace
// period); everything else runs in order. A failed infra start skips the app
// starts that need it.
func (k *Kubelet) apply(ctx context.Context, pod *api.Pod, plan Plan, nw PodNetwork, hostPaths map[string]string) error {
	var errs []error
	infraID := ""
	infraFailed := false
	waitInfra := func() error { return nil } // until this plan starts an infra
	holding := false
	defer func() {
		if holding {
			<-k.starts
		}
	}()
	acts := plan.Actions
	for i := 0; i < len(acts); {
		if acts[i].Kind == ActStop {
			j := i
			for j < len(acts) && acts[j].Kind == ActStop && (acts[j].Name == InfraName) == (acts[i].Name == InfraName) {
				j++
			}
			var wg sync.WaitGroup
			errc := make(chan error, j-i)
			for _, a := range acts[i:j] {
				if a.Name != InfraName {
					k.event(ctx, pod, a.Name, EventKilling, "Stopping container "+a.Name)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := k.cfg.Runtime.Stop(ctx, a.ID, k.cfg.GracePeriod); err != nil && !errors.Is(err, runtime.ErrNotFound) {
						errc <- fmt.Errorf("stop %s: %w", a.Name, err)
					}
				}()
				k.logAction(pod, a)
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				errs = append(errs, err)
			}
			i = j
			continue
		}
		a := acts[i]
		i++
		k.logAction(pod, a)
		if (a.Kind == ActStart || a.Kind == ActStartInfra) && !holding {
			select {
			case k.starts <- struct{}{}:
				holding = true
			case <-ctx.Done():
				return errors.Join(append(errs, ctx.Err())...)
			}
		}
		switch a.Kind {
		case ActRemove:
			if err := k.cfg.Runtime.Remove(ctx, a.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				errs = append(errs, fmt.Errorf("remove %s: %w", a.Name, err))
			}
		case ActStartInfra:
			id, err := k.createInfra(ctx, pod, a.Attempt, nw)
			if err != nil {
				infraFailed = true
				plan.Waiting[InfraName] = "ErrRunContainer: " + err.Error()
				k.event(ctx, pod, InfraName, EventFailed, "start infra container: "+err.Error())
				errs = append(errs, err)
				continue
			}
			infraID = id
			// Start the infra in the background: app containers are
			// created meanwhile and started once it runs.
			started := make(chan error, 1)
			go func() { started <- k.cfg.Runtime.Start(ctx, id) }()
			var once sync.Once
			var startErr error
			waitInfra = func() error {
				once.Do(func() {
					if startErr = <-started; startErr != nil {
						startErr = fmt.Errorf("start infra of %s: %w", api.Key(pod), startErr)
						plan.Waiting[InfraName] = "ErrRunContainer: " + startErr.Error()
						k.event(ctx, pod, InfraName, EventFailed, "start infra container: "+startErr.Error())
					}
				})
				return startErr
			}
		case ActStart:
			if infraFailed {
				plan.Waiting[a.Name] = "ContainerCreating"
				continue
			}
			if infraID == "" {
				id, err := k.runningInfra(ctx, pod)
				if err != nil {
					errs = append(errs, err)
					infraFailed = true
					continue
				}
				infraID = id
			}
			if err := k.startContainer(ctx, pod, a, infraID, hostPaths, plan.Waiting, waitInfra); err != nil {
				errs = append(errs, err)
				if waitInfra() != nil {
					infraFailed = true
				}
			}
		}
	}
	if err := waitInfra(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (k *Kubelet) logAction(pod *api.Pod, a Action) {
	name := "(gone)"
	if pod != nil {
		name = api.Key(pod)
	}
	k.log.WithField("pod", name).Debug(a.String())
}

// runningInfra returns the ID of the pod's running infra container.
func (k *Kubelet) runningInfra(ctx context.Context, pod *api.Pod) (string, error) {
	cs, err := k.list(ctx, runtime.ListOptions{PodUID: pod.UID, Running: true, Labels: map[string]string{runtime.LabelContainerName: InfraName}})
	if err != nil {
		return "", fmt.Errorf("find infra of %s: %w", api.Key(pod), err)
	}
	if len(cs) == 0 {
		return "", fmt.Errorf("pod %s has no running infra container", api.Key(pod))
	}
	return cs[0].ID, nil
}

// ensureInfraImage builds the infra image from the kubelite binary the first
// time it is needed.
func (k *Kubelet) ensureInfraImage(ctx context.Context) error {
	k.infraMu.Lock()
	defer k.infraMu.Unlock()
	ok, err := k.cfg.Runtime.HasImage(ctx, k.cfg.InfraImage)
	if err != nil || ok {
		return err
	}
	bin := k.cfg.InfraBinary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return fmt.Errorf("find own binary for the infra image: %w", err)
		}
	}
	spec, err := images.Spec(k.cfg.InfraImage, bin)
	if err != nil {
		return fmt.Errorf("infra image: %w", err)
	}
	k.log.WithField("image", k.cfg.InfraImage).Info("building the pod infra image from " + bin)
	return k.cfg.Runtime.BuildImage(ctx, spec)
}

// createInfra creates (without starting) the pod's infra container,
// building the infra image first when the engine lacks it.
func (k *Kubelet) createInfra(ctx context.Context, pod *api.Pod, attempt int, nw PodNetwork) (string, error) {
	spec := InfraSpec(pod, k.cfg.InfraImage, attempt, nw)
	id, err := k.create(ctx, spec)
	if errors.Is(err, runtime.ErrImageNotPresent) {
		// First pod on this minion: build the image, then try again.
		if err := k.ensureInfraImage(ctx); err != nil {
			return "", err
		}
		id, err = k.create(ctx, spec)
	}
	if err != nil {
		return "", fmt.Errorf("create infra of %s: %w", api.Key(pod), err)
	}
	return id, nil
}

// ensureImage applies the pull policy; a failed pull is remembered for back-off.
func (k *Kubelet) ensureImage(ctx context.Context, pod *api.Pod, c *api.Container) (waiting string, err error) {
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = api.PullIfNotPresent
	}
	present := false
	if policy != api.PullAlways {
		if present, err = k.cfg.Runtime.HasImage(ctx, c.Image); err != nil {
			return "", fmt.Errorf("image %s: %w", c.Image, err)
		}
	}
	if present {
		return "", nil
	}
	if policy == api.PullNever {
		return "ErrImageNeverPull: image " + c.Image + " is not present and imagePullPolicy is PullNever", nil
	}
	k.event(ctx, pod, c.Name, EventPulling, fmt.Sprintf("Pulling image %q", c.Image))
	pullStart := time.Now()
	if err := k.cfg.Runtime.PullImage(ctx, c.Image); err != nil {
		msg := err.Error()
		k.mu.Lock()
		m := k.pulls[pod.UID]
		if m == nil {
			m = map[string]PullState{}
			k.pulls[pod.UID] = m
		}
		ps := m[c.Name]
		ps.Failures++
		ps.Last = k.cfg.Clock.Now()
		ps.Message = msg
		m[c.Name] = ps
		k.mu.Unlock()
		k.queue.AddAfter(api.Key(pod), PullBackoff(ps.Failures))
		k.event(ctx, pod, c.Name, EventFailed, fmt.Sprintf("Failed to pull image %q: %s", c.Image, msg))
		return "ErrImagePull: " + msg, nil
	}
	k.event(ctx, pod, c.Name, EventPulled, fmt.Sprintf("Successfully pulled image %q in %s", c.Image, time.Since(pullStart).Round(time.Millisecond)))
	k.mu.Lock()
	delete(k.pulls[pod.UID], c.Name)
	k.mu.Unlock()
	return "", nil
}

// startContainer creates app container a.Name (hostDir volumes bound at
// hostPaths, as admitted), waits for the infra to run (waitInfra), then
// starts it.
func (k *Kubelet) startContainer(ctx context.Context, pod *api.Pod, a Action, infraID string, hostPaths map[string]string, waiting map[string]string, waitInfra func() error) error {
	var c *api.Container
	for i := range pod.DesiredState.Manifest.Containers {
		if pod.DesiredState.Manifest.Containers[i].Name == a.Name {
			c = &pod.DesiredState.Manifest.Containers[i]
		}
	}
	if c == nil {
		return nil
	}
	for _, dir := range EmptyDirs(pod, k.cfg.RootDir) {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			waiting[c.Name] = "ErrVolume: " + err.Error()
			return fmt.Errorf("emptyDir for %s: %w", api.Key(pod), err)
		}
	}
	spec, err := AppSpec(pod, c, a.Attempt, SpecOptions{InfraID: infraID, RootDir: k.cfg.RootDir, Services: k.servicesFor(pod), AllowPrivileged: k.cfg.AllowPrivileged, HostPaths: hostPaths})
	if err != nil {
		waiting[c.Name] = "ErrInvalidSpec: " + err.Error()
		k.event(ctx, pod, c.Name, EventFailed, err.Error())
		return nil // retrying will not help until the pod changes
	}
	// PullIfNotPresent and PullNever try the local image first: no image
	// check on the common path. PullAlways pulls first.
	pullFirst := c.ImagePullPolicy == api.PullAlways
	var id string
	if !pullFirst {
		id, err = k.create(ctx, spec)
	}
	if pullFirst || errors.Is(err, runtime.ErrImageNotPresent) {
		w, perr := k.ensureImage(ctx, pod, c)
		if perr != nil {
			return perr
		}
		if w != "" {
			waiting[c.Name] = w
			return nil
		}
		id, err = k.create(ctx, spec)
	}
	if err == nil {
		k.event(ctx, pod, c.Name, EventCreated, "Created container "+c.Name)
		if ierr := waitInfra(); ierr != nil {
			if rerr := k.cfg.Runtime.Remove(ctx, id); rerr != nil && !errors.Is(rerr, runtime.ErrNotFound) {
				k.log.WithError(rerr).Warn("remove a container whose infra failed")
			}
			waiting[c.Name] = "ContainerCreating"
			return nil // the infra's failure is reported by apply
		}
		err = k.cfg.Runtime.Start(ctx, id)
	}
	if err != nil {
		waiting[c.Name] = "ErrRunContainer: " + err.Error()
		k.event(ctx, pod, c.Name, EventFailed, "start container: "+err.Error())
		return fmt.Errorf("start %s of %s: %w", c.Name, api.Key(pod), err)
	}
	msg := "Started container " + c.Name
	if a.Reason != "" {
		msg += " (restarted: " + a.Reason + ")"
	}
	k.event(ctx, pod, c.Name, EventStarted, msg)
	return nil
}

// servicesFor lists the services of the pod's namespace.
func (k *Kubelet) servicesFor(pod *api.Pod) []*api.Service {
	var out []*api.Service
	ns := namespaceOf(pod)
	for _, o := range k.services.List() {
		if s, ok := o.(*api.Service); ok && (s.Namespace == ns || s.Namespace == "") {
			out = append(out, s)
		}
	}
	return out
}

// pushStatus writes the pod's currentState when it changed, by
// compare-and-swap on the cached version, re-reading on conflict.
func (k *Kubelet) pushStatus(ctx context.Context, pod *api.Pod, status api.PodState) error {
	if reflect.DeepEqual(normalizeState(pod.CurrentState), normalizeState(status)) {
		return nil
	}
	for try := 0; try < 5; try++ {
		pod.CurrentState = status
		out, err := k.cfg.Store.Update(ctx, pod)
		if err == nil {
			if out != nil {
				k.mu.Lock()
				k.written[api.Key(pod)] = out.Meta().ResourceVersion
				k.mu.Unlock()
			}
			return nil
		}
		if api.IsNotFound(err) {
			return nil // deleted meanwhile; the watch will tell
		}
		if !api.IsConflict(err) {
			return fmt.Errorf("update status of %s: %w", api.Key(pod), err)
		}
		o, err := k.cfg.Store.Get(ctx, api.Pods, pod.Namespace, pod.ID)
		if err != nil {
			if api.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("update status of %s: %w", api.Key(pod), err)
		}
		fresh, ok := o.(*api.Pod)
		if !ok || fresh.UID != pod.UID || fresh.DesiredState.Host != k.cfg.NodeName {
			return nil // replaced or moved
		}
		if reflect.DeepEqual(normalizeState(fresh.CurrentState), normalizeState(status)) {
			return nil // our cache was behind; the store already says so
		}
		pod = fresh
	}
	return fmt.Errorf("update status of %s: too many conflicts", api.Key(pod))
}

// normalizeState drops what a JSON round trip changes (time zones, empty maps).
func normalizeState(s api.PodState) api.PodState {
	s.Manifest = api.ContainerManifest{}
	if len(s.Info) == 0 {
		s.Info = nil
		return s
	}
	info := make(api.PodInfo, len(s.Info))
	for n, st := range s.Info {
		if st.State.Running != nil {
			r := *st.State.Running
			r.StartedAt = r.StartedAt.UTC().Round(0)
			st.State.Running = &r
		}
		if st.State.Termination != nil {
			t := *st.State.Termination
			t.StartedAt, t.FinishedAt = t.StartedAt.UTC().Round(0), t.FinishedAt.UTC().Round(0)
			st.State.Termination = &t
		}
		info[n] = st
	}
	s.Info = info
	return s
}

// Event reasons the kubelet records, as Kubernetes names them.
const (
	EventPulling   = "Pulling"
	EventPulled    = "Pulled"
	EventFailed    = "Failed"
	EventCreated   = "Created"
	EventStarted   = "Started"
	EventKilling   = "Killing"
	EventBackOff   = "BackOff"
	EventUnhealthy = "Unhealthy"
	EventRefused   = "Refused"
)

// event records an event about a pod's container through the recorder
// (rate-limited and deduplicated there) and logs it.
func (k *Kubelet) event(ctx context.Context, pod *api.Pod, container, reason, msg string) {
	if pod == nil {
		return
	}
	level := logrus.InfoLevel
	switch reason {
	case EventPulling, EventPulled, EventCreated, EventStarted, EventKilling:
		level = logrus.DebugLevel
	}
	k.log.WithFields(logrus.Fields{"pod": api.Key(pod), "container": container, "reason": reason}).Log(level, msg)
	k.cfg.Recorder.RecordField(ctx, pod, "desiredState.manifest.containers{"+container+"}", reason, msg)
}

// markUnhealthy records a failed liveness probe and queues the pod.
func (k *Kubelet) markUnhealthy(ctx context.Context, key string, pod *api.Pod, container, id, msg string) {
	k.mu.Lock()
	k.unhealthy[id] = msg
	k.mu.Unlock()
	k.event(ctx, pod, container, EventUnhealthy, "Liveness probe failed: "+msg)
	k.queue.Add(key)
}
