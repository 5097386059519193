package registry

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/admission"
	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/component"
	"kubelite/internal/logging"
	"kubelite/internal/store"
)

// Config configures a Registry.
type Config struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log *logrus.Entry
	// PortalNet is the network service portal IPs come from (default 10.254.0.0/16).
	PortalNet *net.IPNet
	// PortalClaims records the allocated portal IPs where every master
	// sees them (internal/etcd.Claims); nil keeps them in memory, for one
	// registry alone.
	PortalClaims PortalClaims
	// PortalRepairInterval is how often leaked portal IP claims are looked
	// for (default DefaultPortalRepairInterval).
	PortalRepairInterval time.Duration
	// WriteTimeout bounds each write to the raw store and the claims
	// (default DefaultWriteTimeout): a store that cannot commit answers 503
	// (see quorum.go), never hangs.
	WriteTimeout time.Duration
	// ListTimeout bounds each List of the raw store (default
	// DefaultListTimeout; never below WriteTimeout).
	ListTimeout time.Duration
	// Diagnose says why the store cannot commit, for those 503s (the
	// master's: etcd.DiagnoseQuorum); nil says the store did not answer.
	Diagnose func(ctx context.Context) string
	// Clock stamps creationTimestamp (default the wall clock).
	Clock clock.Clock
	// Heartbeats records minions' heartbeats apart from their objects (the
	// master's: storeetcd.MinionLeases); nil answers every Heartbeat with
	// store.ErrNoHeartbeats (kubelets then write their minion).
	Heartbeats store.Heartbeater
	// BindWait bounds how long a bind waits for the informers to sync
	// (default 30 s); a bind before Run is refused with 503 after it.
	BindWait time.Duration
	// Admission is checked on every create and update of a pod and of a
	// replication controller's pod template (422 naming each field); the
	// zero value refuses privileged containers and host-handing hostDirs.
	Admission admission.Policy
	// MaxReplicas bounds a replication controller's desiredState.replicas
	// (422 above it); 0 means DefaultMaxReplicas.
	MaxReplicas int
	// MaxObjectsPerNamespace bounds the objects of one kind in one
	// namespace (403 on create beyond it); 0 means
	// DefaultMaxObjectsPerNamespace.
	MaxObjectsPerNamespace int
}

// Registry is the API's semantics over a raw store; see the package doc.
type Registry struct {
	raw   store.Store
	clock clock.Clock
	log   *logrus.Entry
	wait  time.Duration

	admission admission.Policy

	maxReplicas, maxObjects int
	counts                  objectCounts // see limits.go

	portalNet  *net.IPNet
	portalMu   sync.Mutex
	portals    *portals // nil until loaded from the stored services
	portalRand func(n uint32) uint32
	claims     PortalClaims
	// repair (claims.go): the claims found orphaned at the last pass.
	repairEvery time.Duration
	suspects    map[string]string

	pods    *store.Informer
	minions *store.Informer
	index   *podIndex
	synced  chan struct{}
	hostMu  sync.Mutex
	hostLks map[string]*sync.Mutex

	heartbeats store.Heartbeater // nil: none apart from the minion
	bound      bounded           // the bound of raw's calls, for heartbeats
}

var (
	_ store.Store         = (*Registry)(nil)
	_ store.SharedWatcher = (*Registry)(nil)
	_ store.SharedLister  = (*Registry)(nil)
	_ component.Component = (*Registry)(nil)
)

// New returns a registry over raw. It serves Get/List/Watch and writes at
// once; binds wait until Run has synced its informers.
func New(raw store.Store, cfg Config) (*Registry, error) {
	if cfg.PortalNet == nil {
		_, n, _ := net.ParseCIDR(api.DefaultPortalNet)
		cfg.PortalNet = n
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.BindWait == 0 {
		cfg.BindWait = 30 * time.Second
	}
	if cfg.PortalClaims == nil {
		cfg.PortalClaims = newMemClaims()
	}
	if cfg.PortalRepairInterval <= 0 {
		cfg.PortalRepairInterval = DefaultPortalRepairInterval
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.ListTimeout <= 0 {
		cfg.ListTimeout = DefaultListTimeout
	}
	b := bounded{Store: raw, timeout: cfg.WriteTimeout, listTimeout: cfg.ListTimeout, diagnose: cfg.Diagnose}
	raw, cfg.PortalClaims = b, boundedClaims{PortalClaims: cfg.PortalClaims, b: b}
	if cfg.MaxReplicas <= 0 {
		cfg.MaxReplicas = DefaultMaxReplicas
	}
	if cfg.MaxObjectsPerNamespace <= 0 {
		cfg.MaxObjectsPerNamespace = DefaultMaxObjectsPerNamespace
	}
	r := &Registry{
		raw: raw, clock: cfg.Clock, wait: cfg.BindWait, admission: cfg.Admission,
		maxReplicas: cfg.MaxReplicas, maxObjects: cfg.MaxObjectsPerNamespace,
		counts:     objectCounts{m: map[countKey]countEntry{}},
		log:        logging.OrDiscard(cfg.Log),
		portalNet:  cfg.PortalNet,
		portalRand: func(n uint32) uint32 { return mrand.Uint32N(n) },
		claims:     cfg.PortalClaims,
		index:      newPodIndex(cfg.Clock.Now),
		synced:     make(chan struct{}),
		hostLks:    map[string]*sync.Mutex{},
		heartbeats: cfg.Heartbeats,
		bound:      b,
	}
	r.repairEvery = cfg.PortalRepairInterval
	// Check the portal network now, so a bad --portal_net fails at start.
	if _, err := newPortals(cfg.PortalNet, r.portalRand); err != nil {
		return nil, err
	}
	r.pods = store.NewInformer(raw, api.Pods, store.ListOptions{}, r.onPod).WithLog(r.log)
	r.minions = store.NewInformer(raw, api.Minions, store.ListOptions{}, nil).WithLog(r.log)
	return r, nil
}

// Name implements component.Component.
func (r *Registry) Name() string { return "registry" }

// Run implements component.Component: it runs the pod and minion informers,
// loads the portal IP allocation, and calls started once both are ready.
func (r *Registry) Run(ctx context.Context, started func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer store.StartInformers(ctx, r.pods, r.minions)()
	if !r.pods.WaitSynced(ctx) || !r.minions.WaitSynced(ctx) {
		return nil
	}
	for {
		_, err := r.loadPortals(ctx)
		if err == nil {
			break
		}
		r.log.WithError(err).Warn("loading portal IPs of stored services; retrying")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	close(r.synced)
	started()
	r.runPortalRepair(ctx)
	return nil
}

// Get implements store.Store.
func (r *Registry) Get(ctx context.Context, res api.Resource, namespace, id string) (api.Object, error) {
	if err := checkRes("GET", res); err != nil {
		return nil, err
	}
	return r.raw.Get(ctx, res, namespace, id)
}

// List implements store.Store.
func (r *Registry) List(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	if err := checkRes("GET", res); err != nil {
		return nil, 0, err
	}
	return r.raw.List(ctx, res, opts)
}

// Watch implements store.Store.
func (r *Registry) Watch(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	if err := checkRes("GET", res); err != nil {
		return nil, err
	}
	return r.raw.Watch(ctx, res, opts)
}

// WatchShared implements store.SharedWatcher: the raw store's shared watch
// when it has one (objects read only), else its Watch.
func (r *Registry) WatchShared(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	if err := checkRes("GET", res); err != nil {
		return nil, err
	}
	if sw, ok := r.raw.(store.SharedWatcher); ok {
		return sw.WatchShared(ctx, res, opts)
	}
	return r.raw.Watch(ctx, res, opts)
}

// ListShared implements store.SharedLister: the raw store's shared list
// when it has one (objects read only), else its List.
func (r *Registry) ListShared(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	if err := checkRes("GET", res); err != nil {
		return nil, 0, err
	}
	if sl, ok := r.raw.(store.SharedLister); ok {
		return sl.ListShared(ctx, res, opts)
	}
	return r.raw.List(ctx, res, opts)
}

func checkRes(verb string, res api.Resource) error {
	if res == api.Bindings {
		return api.NewMethodNotAllowed(verb, "bindings")
	}
	if !res.Valid() {
		return api.NewBadRequest(fmt.Sprintf("unknown resource %q", res))
	}
	return nil
}

// selfLink is /api/v1beta1/<res>/<id>?namespace=<ns>.
func selfLink(res api.Resource, ns, id string) string {
	link := "/api/" + api.APIVersion + "/" + string(res) + "/" + url.PathEscape(id)
	if ns != "" {
		link += "?namespace=" + url.QueryEscape(ns)
	}
	return link
}

// maxNameRetries bounds retries of a generated name that is taken.
const maxNameRetries = 8

// Create implements store.Store.
func (r *Registry) Create(ctx context.Context, in api.Object) (api.Object, error) {
	return r.create(ctx, in, true)
}

// CreateOwned is Create of an object the caller hands over: the registry
// fills in its uid, timestamps and defaults in place instead of on a copy
// (the API server's freshly decoded bodies, used for nothing else after).
func (r *Registry) CreateOwned(ctx context.Context, obj api.Object) (api.Object, error) {
	return r.create(ctx, obj, false)
}

func (r *Registry) create(ctx context.Context, in api.Object, copyIn bool) (api.Object, error) {
	if b, ok := in.(*api.Binding); ok {
		return r.Bind(ctx, b)
	}
	res, err := api.ResourceOf(in)
	if err != nil {
		return nil, api.NewBadRequest(err.Error())
	}
	obj := in
	if copyIn {
		obj = api.DeepCopy(in)
	}
	m := obj.Meta()
	api.SetKind(obj)
	m.Namespace = store.Namespace(res, m.Namespace)
	m.UID = newUID()
	m.CreationTimestamp = r.clock.Now().UTC().Truncate(time.Second)
	m.ResourceVersion = 0
	prefix := m.GenerateName
	if m.ID == "" && prefix == "" && res == api.Pods {
		prefix = "pod-"
	}
	if err := r.checkCount(ctx, res, m.Namespace); err != nil {
		return nil, err
	}
	generated := m.ID == "" && prefix != ""
	if generated {
		m.ID = generateName(prefix)
	}
	for attempt := 0; ; attempt++ {
		out, err := r.createOnce(ctx, res, obj)
		if generated && api.IsAlreadyExists(err) && attempt < maxNameRetries {
			m.ID = generateName(prefix)
			continue
		}
		return out, err
	}
}

func (r *Registry) createOnce(ctx context.Context, res api.Resource, obj api.Object) (api.Object, error) {
	m := obj.Meta()
	m.SelfLink = selfLink(res, m.Namespace, m.ID)
	if p, ok := obj.(*api.Pod); ok && p.DesiredState.Manifest.UUID == "" {
		p.DesiredState.Manifest.UUID = m.UID
	}
	api.SetDefaults(obj)
	if err := api.ValidationError(obj, r.admit(obj, nil, r.checkReplicas(obj, api.Validate(obj)))); err != nil {
		return nil, err
	}
	switch o := obj.(type) {
	case *api.Service:
		return r.createService(ctx, o)
	case *api.Pod:
		if o.DesiredState.Host != "" {
			return r.createBound(ctx, o)
		}
		out, err := r.createRaw(ctx, o)
		if err == nil {
			r.index.observe(out.(*api.Pod))
		}
		return out, err
	}
	return r.createRaw(ctx, obj)
}

// createRaw creates obj in the raw store and returns obj itself where the
// store can (ownedCreator): obj is the registry's, the request's own
// (CreateOwned) or the registry's copy (Create), so no caller's object is
// shared.
func (r *Registry) createRaw(ctx context.Context, obj api.Object) (api.Object, error) {
	if oc, ok := r.raw.(ownedCreator); ok {
		return oc.CreateOwned(ctx, obj)
	}
	return r.raw.Create(ctx, obj)
}

// updateRaw updates obj, which the registry owns (its copy of a request or
// of a cached object), in the raw store, and returns obj itself where the
// store can (ownedUpdater) instead of a copy.
func (r *Registry) updateRaw(ctx context.Context, obj api.Object) (api.Object, error) {
	if ou, ok := r.raw.(ownedUpdater); ok {
		return ou.UpdateOwned(ctx, obj)
	}
	return r.raw.Update(ctx, obj)
}

// maxCASRetries bounds the registry's own compare-and-swap retries.
const maxCASRetries = 16

// Update implements store.Store.
func (r *Registry) Update(ctx context.Context, in api.Object) (api.Object, error) {
	res, err := api.ResourceOf(in)
	if err != nil {
		return nil, api.NewBadRequest(err.Error())
	}
	if res == api.Bindings {
		return nil, api.NewMethodNotAllowed("PUT", "bindings")
	}
	want := in.Meta().ResourceVersion
	for attempt := 0; ; attempt++ {
		obj := api.DeepCopy(in)
		out, err := r.updateOnce(ctx, res, obj, want)
		if want == 0 && api.IsConflict(err) && attempt < maxCASRetries && !errBound(err) {
			continue // our own CAS on the version we read lost: read again
		}
		return out, err
	}
}

func (r *Registry) updateOnce(ctx context.Context, res api.Resource, obj api.Object, want uint64) (api.Object, error) {
	m := obj.Meta()
	api.SetKind(obj)
	m.Namespace = store.Namespace(res, m.Namespace)
	if m.ID == "" {
		return nil, api.NewInvalid(res.Kind(), "", []api.StatusCause{{Reason: api.CauseRequired, Field: "id", Message: "required"}})
	}
	oldObj, err := r.current(ctx, res, m.Namespace, m.ID, want)
	if err != nil {
		return nil, err
	}
	old := oldObj.Meta()
	if want != 0 && old.ResourceVersion != want {
		return nil, api.NewConflict(res.Kind(), m.ID, fmt.Sprintf("resourceVersion %d is stale (now %d)", want, old.ResourceVersion))
	}
	m.ResourceVersion = old.ResourceVersion
	m.UID, m.CreationTimestamp, m.SelfLink = old.UID, old.CreationTimestamp, old.SelfLink
	if m.SelfLink == "" {
		m.SelfLink = selfLink(res, m.Namespace, m.ID)
	}
	if m.GenerateName == "" {
		m.GenerateName = old.GenerateName
	}
	var causes []api.StatusCause
	switch o := obj.(type) {
	case *api.Service:
		prev := oldObj.(*api.Service).PortalIP
		if o.PortalIP == "" {
			o.PortalIP = prev
		} else if o.PortalIP != prev {
			causes = append(causes, api.StatusCause{Reason: api.CauseForbidden, Field: "portalIP",
				Message: fmt.Sprintf("is immutable: %q cannot become %q", prev, o.PortalIP)})
		}
	case *api.Pod:
		if o.DesiredState.Manifest.UUID == "" {
			o.DesiredState.Manifest.UUID = oldObj.(*api.Pod).DesiredState.Manifest.UUID
		}
	}
	api.SetDefaults(obj)
	causes = r.admit(obj, oldObj, r.checkReplicas(obj, append(api.Validate(obj), causes...)))
	if err := api.ValidationError(obj, causes); err != nil {
		return nil, err
	}
	if p, ok := obj.(*api.Pod); ok {
		oldPod := oldObj.(*api.Pod)
		switch host := p.DesiredState.Host; {
		case host == "" || host == oldPod.DesiredState.Host:
			p.DesiredState.Host = oldPod.DesiredState.Host
		case oldPod.DesiredState.Host != "":
			return nil, alreadyBound(p, oldPod.DesiredState.Host)
		default:
			return r.updateBound(ctx, p)
		}
		out, err := r.updateRaw(ctx, p) // p is the registry's copy of the request
		if err == nil {
			r.index.observe(out.(*api.Pod))
		}
		return out, err
	}
	return r.raw.Update(ctx, obj)
}

// current returns the stored object an update of res namespace/id replaces.
// When the writer names the version it holds (want) and the registry's
// informer holds exactly that version of a pod or minion, that is the
// object: the write is a compare-and-swap on want, so it either replaces
// exactly that version or fails as a conflict. This spares a read of etcd
// and a decode on every status write and heartbeat. Otherwise the store is
// read. The informer's object is shared: read only.
func (r *Registry) current(ctx context.Context, res api.Resource, namespace, id string, want uint64) (api.Object, error) {
	var inf *store.Informer
	switch res {
	case api.Pods:
		inf = r.pods
	case api.Minions:
		inf = r.minions
	}
	if want != 0 && inf != nil {
		key := id
		if namespace != "" {
			key = namespace + "/" + id
		}
		if o, ok := inf.Get(key); ok && o.Meta().ResourceVersion == want {
			return o, nil
		}
	}
	return r.raw.Get(ctx, res, namespace, id)
}

// Delete implements store.Store.
func (r *Registry) Delete(ctx context.Context, res api.Resource, namespace, id string) (api.Object, error) {
	if err := checkRes("DELETE", res); err != nil {
		return nil, err
	}
	out, err := r.raw.Delete(ctx, res, namespace, id)
	if err != nil {
		return nil, err
	}
	switch o := out.(type) {
	case *api.Service:
		r.releasePortal(ctx, o.PortalIP, api.Key(o))
	case *api.Pod:
		r.index.forget(api.Key(o), o.ResourceVersion)
	}
	return out, nil
}
