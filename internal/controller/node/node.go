package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/controller"
	"kubelite/internal/fit"
	"kubelite/internal/logging"
	"kubelite/internal/record"
	"kubelite/internal/store"
	"kubelite/internal/workqueue"
)

// Event reasons.
const (
	EventNotReady   = "NotReady"
	EventReady      = "Ready"
	EventEvicted    = "evicted"
	EventRegistered = "registered"
	// ReasonNodeLost is an evicted pod's currentState.reason.
	ReasonNodeLost = "NodeLost"
)

// Config configures a Controller.
type Config struct {
	Store    store.Store
	Log      *logrus.Entry   // nil: logs nothing; the wiring sets its component field
	Recorder record.Recorder // nil: no events
	Clock    clock.Clock     // nil: the wall clock
	// Machines are registered at start if missing (--machines).
	Machines []string
	// ClusterCIDR, if set, gives every minion a /24 podCIDR (--cluster_cidr).
	ClusterCIDR string
	// GracePeriod without heartbeat makes a minion NotReady (default
	// DefaultGracePeriod). A heartbeat lease (Leases) lasts as long.
	GracePeriod time.Duration
	// EvictionTimeout NotReady evicts a minion's pods that no replication
	// controller selects (default DefaultEvictionTimeout);
	// ReplicaEvictionTimeout those one selects (default 0: as soon as the
	// minion is NotReady, so that they are replaced at once). See Eviction.
	EvictionTimeout, ReplicaEvictionTimeout time.Duration
	// Workers sync different minions at once (default 4).
	Workers int
	// Leases, if set, are the minions' heartbeat leases (the master's
	// storeetcd.MinionLeases): a live one is a heartbeat. Nil: heartbeats
	// are the minions' LastHeartbeat only.
	Leases Leases
}

// DefaultGracePeriod is GracePeriod's default: three of a kubelet's
// heartbeats (every 5 s) missed, as a Docker Swarm node is down after three
// missed 5 s heartbeats. Upstream's node-monitor-grace-period is 40 s.
const DefaultGracePeriod = 15 * time.Second

// DefaultEvictionTimeout is EvictionTimeout's default.
const DefaultEvictionTimeout = 60 * time.Second

// Leases tells which minions hold a live heartbeat lease.
type Leases interface {
	// Run keeps the set of leased minions until ctx ends, calling changed
	// with the name of every minion that gains or loses its lease.
	Run(ctx context.Context, changed func(name string))
	// WaitSynced waits for the first list; false if ctx ended first.
	WaitSynced(ctx context.Context) bool
	// Leased reports whether name holds a live lease.
	Leased(name string) bool
	// Heard is when name's heartbeat last reached this master, whether
	// or not its lease could be renewed (zero: not since it started).
	Heard(name string) time.Time
	// HeartbeatsLost is when this master last lost a heartbeat on its own
	// side, failed in the store or refused unheard (zero: never): silence
	// is judged only once it has lost none for a grace period, as after a
	// master's start.
	HeartbeatsLost() time.Time
}

// Controller is the minion lifecycle controller; see the package doc.
type Controller struct {
	cfg     Config
	st      store.Store
	rec     record.Recorder
	clk     clock.Clock
	queue   *workqueue.Queue
	log     *logrus.Entry
	subnets *Subnets

	minions *store.Informer
	rcs     *store.Informer // which pods are replicas (Eviction)

	mu   sync.Mutex
	seen map[string]time.Time // minion -> first seen
	// heardOnly: the minions whose lease lapsed while their heartbeats
	// reach this master, warned of once until that ends.
	heardOnly map[string]bool
	cidrs     *pool // the /24s taken (nil without ClusterCIDR)
}

// New returns a controller; call Run. It fails on a bad ClusterCIDR.
func New(cfg Config) (*Controller, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Recorder == nil {
		cfg.Recorder = record.Nop{}
	}
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = DefaultGracePeriod
	}
	if cfg.EvictionTimeout <= 0 {
		cfg.EvictionTimeout = DefaultEvictionTimeout
	}
	cfg.ReplicaEvictionTimeout = max(cfg.ReplicaEvictionTimeout, 0)
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	c := &Controller{
		cfg: cfg, st: cfg.Store, rec: cfg.Recorder, clk: cfg.Clock,
		queue: workqueue.New(cfg.Clock, 100*time.Millisecond, 10*time.Second).Named("node"),
		log:   logging.OrDiscard(cfg.Log),
		seen:  map[string]time.Time{}, heardOnly: map[string]bool{},
	}
	if cfg.ClusterCIDR != "" {
		s, err := ParseSubnets(cfg.ClusterCIDR)
		if err != nil {
			return nil, err
		}
		c.subnets, c.cidrs = s, newPool(s)
	}
	c.minions = store.NewInformer(cfg.Store, api.Minions, store.ListOptions{}, c.changed).WithLog(c.log)
	c.rcs = store.NewInformer(cfg.Store, api.ReplicationControllers, store.ListOptions{}, nil).WithLog(c.log)
	return c, nil
}

// Name implements component.Component.
func (c *Controller) Name() string { return "node-controller" }

// Run implements component.Component.
func (c *Controller) Run(ctx context.Context, started func()) error {
	ctx, cancel := context.WithCancel(ctx)
	// Whatever way Run returns, its goroutines stop first: cancel, then wait.
	var wg sync.WaitGroup
	stopInformers := store.StartInformers(ctx, c.minions, c.rcs)
	defer func() { cancel(); stopInformers(); wg.Wait() }()
	if l := c.cfg.Leases; l != nil {
		wg.Add(1)
		go func() { defer wg.Done(); l.Run(ctx, c.queue.Add) }()
		if !l.WaitSynced(ctx) {
			return nil
		}
	}
	if !c.WaitSynced(ctx) {
		return nil
	}
	if err := c.RegisterMachines(ctx); err != nil {
		return err
	}
	if err := c.EvictOrphans(ctx); err != nil {
		c.log.WithError(err).Warn("evict pods of deleted minions")
	}
	started()
	c.queue.Run(ctx, c.cfg.Workers, c.Sync)
	return nil
}

// WaitSynced waits for the minion and replication controller caches and
// queues every minion.
func (c *Controller) WaitSynced(ctx context.Context) bool {
	if !c.minions.WaitSynced(ctx) || !c.rcs.WaitSynced(ctx) {
		return false
	}
	for _, k := range c.minions.Keys() {
		c.queue.Add(k)
	}
	return true
}

// changed is the cache's callback: it notes the /24 the minion holds now
// (before any allocation can hand it out again) and queues the minion.
func (c *Controller) changed(key string) {
	if c.cidrs != nil {
		if o, ok := c.minions.Get(key); ok {
			if cidr := o.(*api.Minion).PodCIDR; cidr != "" {
				c.mu.Lock()
				c.cidrs.set(key, cidr)
				c.mu.Unlock()
			}
		}
	}
	c.queue.Add(key)
}

// RegisterMachines creates the static minions that do not exist yet.
func (c *Controller) RegisterMachines(ctx context.Context) error {
	for _, name := range c.cfg.Machines {
		if _, ok := c.minions.Get(name); ok {
			continue
		}
		m := &api.Minion{TypeMeta: api.TypeMeta{ID: name}, Status: api.MinionStatus{Condition: api.MinionUnknown}}
		if a, err := netip.ParseAddr(name); err == nil {
			m.HostIP = a.String()
		}
		out, err := c.st.Create(ctx, m)
		if api.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("register minion %s: %w", name, err)
		}
		c.rec.Record(ctx, out, EventRegistered, "registered from --machines")
	}
	return nil
}

// EvictOrphans evicts the pods bound to minions that no longer exist
// (deleted while no controller ran).
func (c *Controller) EvictOrphans(ctx context.Context) error {
	objs, _, err := c.st.List(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	hosts := map[string]bool{}
	for _, o := range objs {
		if h := o.(*api.Pod).DesiredState.Host; h != "" {
			if _, ok := c.minions.Get(h); !ok {
				hosts[h] = true
			}
		}
	}
	var errs []error
	for h := range hosts {
		errs = append(errs, c.evict(ctx, h, "minion "+h+" does not exist", nil))
	}
	return errors.Join(errs...)
}

// Sync checks one minion; see the package doc.
func (c *Controller) Sync(ctx context.Context, key string) error {
	obj, ok := c.minions.Get(key)
	now := c.clk.Now()
	c.mu.Lock()
	if !ok {
		delete(c.seen, key)
		delete(c.heardOnly, key)
		if c.cidrs != nil {
			c.cidrs.set(key, "")
		}
		c.mu.Unlock()
		// A deleted minion runs nothing any more: its pods go now, so their
		// replication controllers replace them.
		return c.evict(ctx, key, "minion "+key+" was deleted", nil)
	}
	seen, ok := c.seen[key]
	if !ok {
		seen = now
		c.seen[key] = now
	}
	c.mu.Unlock()

	m := api.Copy(obj.(*api.Minion))
	lease, heard := NoLeases, time.Time{}
	if c.cfg.Leases != nil {
		// The lease first: a heartbeat heard before a lease found gone
		// is then seen (read the other way round, a heartbeat arriving
		// between the two readings, as the lease lapsed, was missed).
		lease = LeaseGone
		if c.cfg.Leases.Leased(key) {
			lease = LeaseHeld
		}
		heard = c.cfg.Leases.Heard(key)
		// A master that lost heartbeats (failed in a stalled store, or
		// refused unheard) let leases lapse that no minion let lapse:
		// silence counts from its recovery, as from a start.
		if f := c.cfg.Leases.HeartbeatsLost(); f.After(seen) {
			seen = f
		}
	}
	d := Decide(m, Heartbeats{Lease: lease, Heard: heard}, now, seen, c.cfg.GracePeriod, Eviction{Replicated: c.cfg.ReplicaEvictionTimeout, Others: c.cfg.EvictionTimeout})
	c.noteHeardOnly(key, d.HeardOnly && m.Status.Condition == api.MinionReady, heard, lease)
	changed := d.Changed
	m.Status = d.Status
	if c.subnets != nil && m.PodCIDR == "" {
		cidr, err := c.allocate(key)
		if err != nil {
			return err
		}
		m.PodCIDR, changed = cidr, true
	}
	if changed {
		out, err := c.st.Update(ctx, m)
		if err != nil {
			if api.IsNotFound(err) {
				return nil
			}
			c.release(key)
			return fmt.Errorf("update minion %s: %w", key, err)
		}
		switch d.Transition {
		case EventNotReady:
			c.log.WithField("minion", key).Warn(d.Status.Reason)
			c.rec.Record(ctx, out, EventNotReady, fmt.Sprintf("minion %s is NotReady: %s", key, d.Status.Reason))
		case EventReady:
			c.log.WithField("minion", key).Info("minion is Ready")
			c.rec.Record(ctx, out, EventReady, fmt.Sprintf("minion %s is Ready", key))
		}
	}
	var err error
	if d.EvictReplicated || d.EvictOthers {
		which := func(p *api.Pod) bool {
			if c.replicated(p) {
				return d.EvictReplicated
			}
			return d.EvictOthers
		}
		err = c.evict(ctx, key, fmt.Sprintf("minion %s NotReady for %s", key, now.Sub(d.Status.NotReadySince).Round(time.Second)), which)
	}
	c.schedule(key, d.Next)
	return err
}

// schedule queues key's next check at t. The queue keeps the earlier of
// two times for a key, so a check already pending before t stands, and
// the check it makes schedules the next one. (A map of pending checks kept
// beside the queue disagreed with it when a check ran early, by an event or
// a direct Sync, while the queue held its key at a time already past: the
// map skipped the next time and the queue then held none.)
func (c *Controller) schedule(key string, t time.Time) {
	if !t.IsZero() {
		c.queue.AddAt(key, t) // a deadline: the clock may have moved since the check read it
	}
}

// noteHeardOnly warns once when a Ready minion starts to be kept Ready
// only by heartbeats this master heard (its lease lapsed on the master's
// side), and notes when its lease is live again: in a storm of slow
// renewals, a warning at every check of every such minion drowned the log
// (1,290 lines in one 150,000-pod run).
func (c *Controller) noteHeardOnly(key string, now bool, heard time.Time, lease Lease) {
	c.mu.Lock()
	was := c.heardOnly[key]
	if now {
		c.heardOnly[key] = true
	} else {
		delete(c.heardOnly, key)
	}
	c.mu.Unlock()
	switch {
	case now && !was:
		c.log.WithFields(logrus.Fields{"minion": key, "heard": heard.Format(time.RFC3339)}).Warn("heartbeat lease lapsed while the minion's heartbeats reach this master (the store is slow to renew): the minion stays Ready")
	case !now && was && lease == LeaseHeld:
		c.log.WithField("minion", key).Info("the minion's heartbeat lease is live again")
	}
}

func (c *Controller) allocate(key string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cidr, ok := c.cidrs.take(key)
	if !ok {
		return "", fmt.Errorf("minion %s: no free /24 left in %s", key, c.cfg.ClusterCIDR)
	}
	return cidr, nil
}

func (c *Controller) release(key string) {
	if c.cidrs == nil {
		return
	}
	c.mu.Lock()
	c.cidrs.set(key, "")
	c.mu.Unlock()
}

// replicated reports whether a replication controller selects p.
func (c *Controller) replicated(p *api.Pod) bool {
	for _, o := range c.rcs.List() {
		rc, ok := o.(*api.ReplicationController)
		if !ok {
			continue
		}
		if controller.Selects(rc.DesiredState.ReplicaSelector, controller.NamespaceOf(rc), controller.NamespaceOf(p), p.Labels) {
			return true
		}
	}
	return false
}

// evict marks the pods bound to the minion Failed and deletes them: those
// which accepts (nil: every one).
func (c *Controller) evict(ctx context.Context, minion string, msg string, which func(*api.Pod) bool) error {
	sel, err := api.ParseSelector(api.FieldDesiredStateHost + "=" + minion)
	if err != nil {
		return fmt.Errorf("evict pods of %s: %w", minion, err)
	}
	objs, _, err := c.st.List(ctx, api.Pods, store.ListOptions{Fields: sel})
	if err != nil {
		return fmt.Errorf("evict pods of %s: %w", minion, err)
	}
	var errs []error
	for _, o := range objs {
		p := o.(*api.Pod)
		if p.DesiredState.Host != minion || (which != nil && !which(p)) {
			continue
		}
		if !fit.Terminated(p) {
			p.CurrentState.Phase, p.CurrentState.Status = api.PodPhaseFailed, api.PodTerminated
			p.CurrentState.Reason, p.CurrentState.Message = ReasonNodeLost, msg
			if out, err := c.st.Update(ctx, p); err == nil {
				p = out.(*api.Pod)
			} else if api.IsNotFound(err) {
				continue
			} // a conflict still deletes: the pod goes either way
		}
		if _, err := c.st.Delete(ctx, api.Pods, p.Namespace, p.ID); err != nil {
			if !api.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("evict pod %s: %w", p.ID, err))
			}
			continue // or gone meanwhile (another check evicted it): one evicted event
		}
		c.log.WithFields(logrus.Fields{"minion": minion, "pod": api.Key(p)}).Info("evicted")
		c.rec.Record(ctx, p, EventEvicted, "evicted: "+msg)
	}
	return errors.Join(errs...)
}
