package replication

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/controller"
	"kubelite/internal/fit"
	"kubelite/internal/logging"
	"kubelite/internal/metrics"
	"kubelite/internal/record"
	"kubelite/internal/store"
	"kubelite/internal/workqueue"
)

// Event reasons.
const (
	EventCreate       = "successfulCreate"
	EventDelete       = "successfulDelete"
	EventFailedCreate = "failedCreate"
)

// Config configures a Manager.
type Config struct {
	Store    store.Store
	Log      *logrus.Entry   // nil: logs nothing; the wiring sets its component field
	Recorder record.Recorder // nil: no events
	Clock    clock.Clock     // nil: the wall clock
	// Workers sync different RCs at once (default 4).
	Workers int
	// BurstReplicas caps creates or deletes per sync (default 500).
	BurstReplicas int
	// ExpectationsTimeout forgets expectations never met (default 1 min).
	ExpectationsTimeout time.Duration
	// Parallelism bounds concurrent creates or deletes in one sync (default 16).
	Parallelism int
}

// Manager is the replication manager; see the package doc.
type Manager struct {
	cfg   Config
	st    store.Store
	rec   record.Recorder
	clk   clock.Clock
	queue *workqueue.Queue
	log   *logrus.Entry

	rcs  *store.Informer
	pods *store.Informer

	owners *controller.PodOwners // which RCs select a pod

	// listPods reads the pods cache (m.pods.List; tests interleave here).
	listPods func() []api.Object

	mu  sync.Mutex
	exp map[string]*expectation // rc key -> pending
}

type expectation struct {
	adds int
	dels map[string]bool
	at   time.Time
}

// New returns a manager; call Run.
func New(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Recorder == nil {
		cfg.Recorder = record.Nop{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.BurstReplicas <= 0 {
		cfg.BurstReplicas = 500
	}
	if cfg.ExpectationsTimeout <= 0 {
		cfg.ExpectationsTimeout = time.Minute
	}
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = 16
	}
	m := &Manager{
		cfg: cfg, st: cfg.Store, rec: cfg.Recorder, clk: cfg.Clock,
		queue: workqueue.New(cfg.Clock, 100*time.Millisecond, 30*time.Second).Named("replication"),
		log:   logging.OrDiscard(cfg.Log),
		exp:   map[string]*expectation{},
	}
	m.rcs = store.NewInformer(cfg.Store, api.ReplicationControllers, store.ListOptions{}, m.queue.Add).WithLog(m.log)
	m.pods = store.NewInformer(cfg.Store, api.Pods, store.ListOptions{}, m.onPod).WithLog(m.log)
	m.listPods = m.pods.List
	m.owners = controller.NewPodOwners(m.pods, m.rcs, func(o api.Object) map[string]string {
		return o.(*api.ReplicationController).DesiredState.ReplicaSelector
	})
	return m
}

// Name implements component.Component.
func (m *Manager) Name() string { return "replication-manager" }

// Run implements component.Component.
func (m *Manager) Run(ctx context.Context, started func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer store.StartInformers(ctx, m.rcs, m.pods)()
	if !m.WaitSynced(ctx) {
		return nil
	}
	started()
	m.log.Info("replication manager started")
	m.queue.Run(ctx, m.cfg.Workers, m.countedSync)
	return nil
}

// countedSync is Sync counted in replication_controller_syncs_total.
func (m *Manager) countedSync(ctx context.Context, key string) error {
	err := m.Sync(ctx, key)
	result := "success"
	if err != nil {
		result = "error"
	}
	metrics.RCSyncs.WithLabelValues(result).Inc()
	return err
}

// WaitSynced waits until both caches hold the full state and every RC is
// queued. Tests that call Sync directly run the informers and call this.
func (m *Manager) WaitSynced(ctx context.Context) bool {
	if !m.rcs.WaitSynced(ctx) || !m.pods.WaitSynced(ctx) {
		return false
	}
	for _, k := range m.pods.Keys() {
		m.onPod(k)
	}
	for _, k := range m.rcs.Keys() {
		m.queue.Add(k)
	}
	return true
}

func selects(rc *api.ReplicationController, ns string, labels map[string]string) bool {
	return controller.Selects(rc.DesiredState.ReplicaSelector, controller.NamespaceOf(rc), ns, labels)
}

// onPod settles expectations and queues the RCs that select the pod (by its
// labels now and before).
func (m *Manager) onPod(key string) {
	// Under m.mu, as Sync sets expectations under it: a pod seen between
	// Sync's count and its expectation would otherwise settle an add twice.
	m.mu.Lock()
	ch := m.owners.Changed(key)
	for _, o := range ch.Owners {
		if e := m.exp[o.Key]; e != nil {
			if o.Now && !ch.WasKnown && e.adds > 0 {
				e.adds--
			}
			if !ch.Exists {
				delete(e.dels, key)
			}
		}
	}
	m.mu.Unlock()
	for _, o := range ch.Owners {
		m.queue.Add(o.Key)
	}
}

// satisfied reports whether rc may be resized: nothing is pending, or what
// is pending is older than the timeout.
func (m *Manager) satisfied(rk string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.exp[rk]
	if e == nil || (e.adds <= 0 && len(e.dels) == 0) {
		return true
	}
	if m.clk.Since(e.at) >= m.cfg.ExpectationsTimeout {
		m.log.WithField("rc", rk).Warn("expectations not met in time; resyncing")
		delete(m.exp, rk)
		return true
	}
	return false
}

// Pending returns the creates and deletes rc still waits to see (tests).
func (m *Manager) Pending(rk string) (adds, dels int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.exp[rk]; e != nil {
		return e.adds, len(e.dels)
	}
	return 0, 0
}

// Sync converges the RC with key; see the package doc.
func (m *Manager) Sync(ctx context.Context, key string) error {
	obj, ok := m.rcs.Get(key)
	if !ok {
		m.mu.Lock()
		delete(m.exp, key)
		m.mu.Unlock()
		return nil
	}
	rc := obj.(*api.ReplicationController)
	// The expectations are read before the pods, never after: a pod that
	// settles them is in the cache before onPod runs, so every pod they
	// waited for is in the list read next. Read the other way round, the
	// last pods of a burst seen in between settle the expectations without
	// being counted, and the RC is resized on a stale count: over-creating
	// by that many (issue 15: 1,215 of 1,200 under load).
	settled := m.satisfied(key)
	objs := m.listPods()
	pods := make([]*api.Pod, len(objs))
	for i, o := range objs {
		pods[i] = o.(*api.Pod)
	}
	plan := Decide(rc, pods, settled, m.cfg.BurstReplicas)
	var errs []error
	if plan.Create > 0 {
		errs = append(errs, m.create(ctx, rc, plan.Create))
	}
	if len(plan.Delete) > 0 {
		errs = append(errs, m.remove(ctx, rc, plan.Delete))
	}
	if rc.CurrentState.Replicas != plan.Active {
		if err := m.updateStatus(ctx, rc, plan.Active); err != nil {
			errs = append(errs, fmt.Errorf("update rc %s status: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// Plan is what one sync does to one RC.
type Plan struct {
	// Active counts the RC's active pods: its currentState.replicas.
	Active int
	// Create is how many pods to create from the template.
	Create int
	// Delete lists the pods to delete, best first.
	Delete []*api.Pod
}

// Decide plans a sync of rc over pods (every cached pod: Decide picks the
// active ones rc selects). settled says the RC's expectations were met when
// pods was read (see Sync): only then may it be resized, by at most burst
// pods.
func Decide(rc *api.ReplicationController, pods []*api.Pod, settled bool, burst int) Plan {
	ns := controller.NamespaceOf(rc)
	var active []*api.Pod
	for _, p := range pods {
		if controller.NamespaceOf(p) == ns && selects(rc, ns, p.Labels) && !fit.Terminated(p) {
			active = append(active, p)
		}
	}
	plan := Plan{Active: len(active)}
	if !settled {
		return plan
	}
	switch diff := rc.DesiredState.Replicas - len(active); {
	case diff > 0:
		plan.Create = min(diff, burst)
	case diff < 0:
		DeletionOrder(active)
		plan.Delete = active[:min(-diff, burst)]
	}
	return plan
}

// updateStatus writes currentState.replicas, re-reading the RC when the
// cached copy is stale (our own previous write, or a resize).
func (m *Manager) updateStatus(ctx context.Context, rc *api.ReplicationController, n int) error {
	c := api.Copy(rc)
	for attempt := 0; ; attempt++ {
		c.CurrentState.Replicas = n
		_, err := m.st.Update(ctx, c)
		if err == nil || api.IsNotFound(err) {
			return nil
		}
		if !api.IsConflict(err) || attempt == 2 {
			return err
		}
		obj, gerr := m.st.Get(ctx, api.ReplicationControllers, c.Namespace, c.ID)
		if gerr != nil {
			if api.IsNotFound(gerr) {
				return nil
			}
			return gerr
		}
		c = obj.(*api.ReplicationController)
		if c.CurrentState.Replicas == n {
			return nil
		}
	}
}

// NewPod returns the pod rc's template describes (no id: GenerateName).
func NewPod(rc *api.ReplicationController) *api.Pod {
	t := api.Copy(rc).DesiredState.PodTemplate
	p := &api.Pod{
		TypeMeta:     api.TypeMeta{GenerateName: rc.ID + "-", Namespace: controller.NamespaceOf(rc), Labels: t.Labels},
		DesiredState: t.DesiredState,
		NodeSelector: t.NodeSelector,
	}
	p.DesiredState.Host, p.DesiredState.HostIP, p.DesiredState.PodIP = "", "", ""
	p.DesiredState.Info = nil
	return p
}

// parallel runs f(i) for i in [0,n) with at most m.cfg.Parallelism at once
// and starts none once ctx has ended (a stopping manager finishes the
// writes in flight and begins no more: a store may not heed ctx, and writes
// made after Run returned would race the next manager's count). It returns
// how many it started: f(0) to f(started-1).
func (m *Manager) parallel(ctx context.Context, n int, f func(i int)) (started int) {
	sem := make(chan struct{}, m.cfg.Parallelism)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return i
		}
		if ctx.Err() != nil {
			return i
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			f(i)
		}()
	}
	return n
}

func (m *Manager) create(ctx context.Context, rc *api.ReplicationController, n int) error {
	rk := api.Key(rc)
	m.mu.Lock()
	m.exp[rk] = &expectation{adds: n, dels: map[string]bool{}, at: m.clk.Now()}
	m.mu.Unlock()
	var mu sync.Mutex
	var errs []error
	var made []api.Object
	started := m.parallel(ctx, n, func(int) {
		out, err := m.st.Create(ctx, NewPod(rc))
		if err != nil {
			m.mu.Lock()
			if e := m.exp[rk]; e != nil && e.adds > 0 {
				e.adds--
			}
			m.mu.Unlock()
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			return
		}
		mu.Lock()
		made = append(made, out)
		mu.Unlock()
		m.rec.Record(ctx, rc, EventCreate, "created pod "+out.Meta().ID)
	})
	m.removeIfOwnerGone(ctx, rc, made)
	var stopped error
	if started < n { // stopping: the creates never made are not expected
		m.mu.Lock()
		if e := m.exp[rk]; e != nil {
			e.adds = max(e.adds-(n-started), 0)
		}
		m.mu.Unlock()
		stopped = fmt.Errorf("rc %s: stopped after %d of %d creates: %w", rk, started, n, context.Cause(ctx))
	}
	if len(errs) > 0 {
		m.rec.Record(ctx, rc, EventFailedCreate, fmt.Sprintf("create pod: %v", errs[0]))
		return errors.Join(fmt.Errorf("rc %s: %d of %d creates failed: %w", rk, len(errs), n, errs[0]), stopped)
	}
	if stopped != nil {
		return stopped
	}
	m.log.WithField("rc", rk).Debugf("created %d pods", n)
	return nil
}

// removeIfOwnerGone deletes the pods just made for rc when rc no longer
// exists (or is another RC of the same name): a create decided before the
// manager saw rc deleted can land after the deletion, and after a cascading
// delete's list of rc's pods (kubectl delete pods,rc: the pods go first, the
// manager replaces them, the RC goes while those creates are in flight).
// Read after the creates, the RC's absence means no one may own these pods.
// One read a burst; pods that existed before the deletion are untouched.
func (m *Manager) removeIfOwnerGone(ctx context.Context, rc *api.ReplicationController, made []api.Object) {
	if len(made) == 0 || ctx.Err() != nil {
		return
	}
	cur, err := m.st.Get(ctx, api.ReplicationControllers, controller.NamespaceOf(rc), rc.ID)
	switch {
	case err == nil && (rc.UID == "" || cur.Meta().UID == rc.UID):
		return
	case err != nil && !api.IsNotFound(err):
		return // unknown: the next sync decides with what it sees then
	}
	for _, p := range made {
		pm := p.Meta()
		if _, err := m.st.Delete(ctx, api.Pods, pm.Namespace, pm.ID); err != nil && !api.IsNotFound(err) {
			m.log.WithField("rc", api.Key(rc)).WithError(err).Warnf("delete pod %s made after its rc was deleted", pm.ID)
		}
	}
	m.log.WithField("rc", api.Key(rc)).Infof("rc deleted while %d of its pods were created: deleted them", len(made))
}

// DeletionOrder sorts pods so that the first are the best to delete:
// unbound first, then not Running, then the newest.
func DeletionOrder(pods []*api.Pod) {
	rank := func(p *api.Pod) int {
		switch {
		case p.DesiredState.Host == "":
			return 0
		case p.CurrentState.Phase != api.PodPhaseRunning && p.CurrentState.Status != api.PodRunning:
			return 1
		}
		return 2
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		if !a.CreationTimestamp.Equal(b.CreationTimestamp) {
			return a.CreationTimestamp.After(b.CreationTimestamp)
		}
		return a.ID > b.ID
	})
}

func (m *Manager) remove(ctx context.Context, rc *api.ReplicationController, victims []*api.Pod) error {
	rk := api.Key(rc)
	n := len(victims)
	e := &expectation{dels: map[string]bool{}, at: m.clk.Now()}
	for _, p := range victims {
		e.dels[api.Key(p)] = true
	}
	m.mu.Lock()
	m.exp[rk] = e
	m.mu.Unlock()
	gone := func(key string) { // already gone from the cache: nothing to wait for
		m.mu.Lock()
		if _, ok := m.pods.Get(key); !ok {
			delete(e.dels, key)
		}
		m.mu.Unlock()
	}
	for _, p := range victims {
		gone(api.Key(p))
	}
	var mu sync.Mutex
	var errs []error
	started := m.parallel(ctx, n, func(i int) {
		p := victims[i]
		_, err := m.st.Delete(ctx, api.Pods, p.Namespace, p.ID)
		if api.IsNotFound(err) {
			gone(api.Key(p))
			return
		}
		if err != nil {
			m.mu.Lock()
			delete(e.dels, api.Key(p))
			m.mu.Unlock()
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
			return
		}
		m.rec.Record(ctx, rc, EventDelete, "deleted pod "+p.ID)
	})
	var stopped error
	if started < n { // stopping: the deletes never made are not expected
		m.mu.Lock()
		for _, p := range victims[started:] {
			delete(e.dels, api.Key(p))
		}
		m.mu.Unlock()
		stopped = fmt.Errorf("rc %s: stopped after %d of %d deletes: %w", rk, started, n, context.Cause(ctx))
	}
	if len(errs) > 0 {
		return errors.Join(fmt.Errorf("rc %s: %d of %d deletes failed: %w", rk, len(errs), n, errs[0]), stopped)
	}
	return stopped
}
