package scheduler

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/fit"
	"kubelite/internal/metrics"
	"kubelite/internal/record"
	"kubelite/internal/store"
	"kubelite/internal/workqueue"
)

// Event reasons the scheduler records.
const (
	EventFailedScheduling = "failedScheduling"
	EventScheduled        = "scheduled"
	// ReasonUnschedulable is the pod's currentState.reason while it fits nowhere.
	ReasonUnschedulable = "Unschedulable"
)

// Config configures a Scheduler.
type Config struct {
	Store    store.Store
	Recorder record.Recorder // nil: no events
	Clock    clock.Clock     // nil: the wall clock
	// Seed makes tie-breaks deterministic.
	Seed int64
	// Workers bind concurrently (default 128: a bind waits on an etcd commit,
	// so throughput grows with binds in flight).
	Workers int
	// BackoffBase and BackoffMax bound the retries of unschedulable pods
	// (default 1 s doubling to 60 s).
	BackoffBase, BackoffMax time.Duration
}

// Scheduler binds unbound pods to minions; see the package doc.
type Scheduler struct {
	cfg   Config
	st    store.Store
	rec   record.Recorder
	queue *workqueue.Queue
	log   *logrus.Entry

	pods     *store.Informer
	minions  *store.Informer
	services *store.Informer

	mu            sync.Mutex
	nodes         map[string]*fit.Node // minion id -> accounting
	candidates    []*fit.Node          // nodes with a known minion, by id
	dirty         bool                 // candidates needs rebuilding
	accounted     map[string]accounted // pod key -> where it is accounted
	unschedulable map[string]*api.Pod  // pod key -> the version that fit nowhere

	// The spreading index: every label set ever accounted, and for a pod's
	// label set the accounted label sets that include it.
	labelSets map[string]map[string]string
	supersets map[string]*spreadEntry
	rebuildAt int

	// Dense spreading counts: every node has an index, and for every label
	// set the pods carrying it per node index (cache-friendly to scan).
	idx         map[*fit.Node]int32
	groupCounts map[string][]int32
	candIdx     []int32  // index of each candidate
	candHash    []uint64 // hash of each candidate's minion id
}

type spreadEntry struct {
	labels map[string]string
	keys   []string
}

type accounted struct {
	host    string
	pod     *api.Pod
	assumed bool // chosen by us, bind not yet seen on the watch
}

// New returns a scheduler; call Run.
func New(cfg Config) *Scheduler {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 128
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 60 * time.Second
	}
	s := &Scheduler{
		cfg: cfg, st: cfg.Store, rec: cfg.Recorder,
		queue:         workqueue.New(cfg.Clock, cfg.BackoffBase, cfg.BackoffMax).Named("scheduler"),
		log:           logrus.WithField("component", "scheduler"),
		nodes:         map[string]*fit.Node{},
		accounted:     map[string]accounted{},
		unschedulable: map[string]*api.Pod{},
		labelSets:     map[string]map[string]string{},
		supersets:     map[string]*spreadEntry{},
		idx:           map[*fit.Node]int32{},
		groupCounts:   map[string][]int32{},
	}
	if s.rec == nil {
		s.rec = record.Nop{}
	}
	s.pods = store.NewInformer(cfg.Store, api.Pods, store.ListOptions{}, s.onPod)
	s.minions = store.NewInformer(cfg.Store, api.Minions, store.ListOptions{}, s.onMinion)
	s.services = store.NewInformer(cfg.Store, api.Services, store.ListOptions{}, nil)
	return s
}

// Name implements component.Component.
func (s *Scheduler) Name() string { return "scheduler" }

// Run implements component.Component: it calls started once both caches are
// loaded and schedules until ctx ends.
func (s *Scheduler) Run(ctx context.Context, started func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer store.StartInformers(ctx, s.minions, s.pods, s.services)()
	if !s.waitSynced(ctx) {
		return nil
	}
	started()
	s.log.Info("scheduler started")
	s.loop(ctx)
	return nil
}

// waitSynced waits for the three caches, then replays every minion and pod
// key. The informers have already handed their first list's keys to
// onChange before closing Synced; the replay is harmless (onMinion and onPod
// re-read the caches) and makes the accounting whole even if a minion's
// first event was handled before the pods cache had loaded.
func (s *Scheduler) waitSynced(ctx context.Context) bool {
	if !s.minions.WaitSynced(ctx) || !s.pods.WaitSynced(ctx) || !s.services.WaitSynced(ctx) {
		return false
	}
	for _, k := range s.minions.Keys() {
		s.onMinion(k)
	}
	for _, k := range s.pods.Keys() {
		s.onPod(k)
	}
	return true
}

// Queue exposes the work queue (tests read backoff from it).
func (s *Scheduler) Queue() *workqueue.Queue { return s.queue }

// countLocked moves the dense count of p's label set on node n by d.
func (s *Scheduler) countLocked(n *fit.Node, p *api.Pod, d int32) {
	if len(p.Labels) == 0 || fit.Terminated(p) {
		return
	}
	k := fit.LabelKey(p.Labels)
	i := s.idx[n]
	c := s.groupCounts[k]
	if int(i) >= len(c) {
		if d < 0 {
			return
		}
		c = append(c, make([]int32, int(i)+1-len(c))...)
		s.groupCounts[k] = c
	}
	c[i] += d
}

// removeLocked undoes addLocked.
func (s *Scheduler) removeLocked(host string, p *api.Pod) {
	n := s.nodeLocked(host)
	n.Remove(p)
	s.countLocked(n, p, -1)
}

// addLocked accounts p on host and indexes its label set.
func (s *Scheduler) addLocked(host string, p *api.Pod) {
	n := s.nodeLocked(host)
	n.Add(p)
	s.countLocked(n, p, 1)
	if len(p.Labels) == 0 {
		return
	}
	k := fit.LabelKey(p.Labels)
	if _, ok := s.labelSets[k]; ok {
		return
	}
	if len(s.labelSets) >= max(maxLabelSets, s.rebuildAt) {
		s.rebuildSpreadIndexLocked()
		s.rebuildAt = 2 * len(s.labelSets)
	}
	s.labelSets[k] = p.Labels
	for _, e := range s.supersets {
		if fit.IsSubset(e.labels, p.Labels) {
			e.keys = append(e.keys, k)
		}
	}
}

// spreadKeysForLocked returns the label sets whose pods count as the pod's
// kind: those carrying all of its labels (its replication controller's
// pods) and those selected by any service that selects it.
func (s *Scheduler) spreadKeysForLocked(p *api.Pod) []string {
	keys := s.spreadKeysLocked(p.Labels)
	var seen map[string]bool
	ns := p.Namespace
	if ns == "" {
		ns = api.DefaultNamespace
	}
	for _, o := range s.services.List() {
		svc := o.(*api.Service)
		sns := svc.Namespace
		if sns == "" {
			sns = api.DefaultNamespace
		}
		if len(svc.Selector) == 0 || sns != ns || !fit.IsSubset(svc.Selector, p.Labels) {
			continue
		}
		if seen == nil {
			seen = make(map[string]bool, len(keys))
			for _, k := range keys {
				seen[k] = true
			}
			keys = append([]string(nil), keys...) // the cached slice stays as it is
		}
		for _, k := range s.spreadKeysLocked(svc.Selector) {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// maxLabelSets bounds the spreading index: label sets of pods long gone are
// dropped when it is reached.
const maxLabelSets = 20000

// rebuildSpreadIndexLocked keeps only the label sets pods still carry.
func (s *Scheduler) rebuildSpreadIndexLocked() {
	s.labelSets = map[string]map[string]string{}
	for _, n := range s.nodes {
		n.LabelSets(func(k string, labels map[string]string) { s.labelSets[k] = labels })
	}
	s.supersets = map[string]*spreadEntry{}
	for k := range s.groupCounts {
		if _, ok := s.labelSets[k]; !ok {
			delete(s.groupCounts, k)
		}
	}
}

// spreadKeysLocked returns the accounted label sets including labels.
func (s *Scheduler) spreadKeysLocked(labels map[string]string) []string {
	if len(labels) == 0 {
		return nil
	}
	k := fit.LabelKey(labels)
	if e, ok := s.supersets[k]; ok {
		return e.keys
	}
	e := &spreadEntry{labels: labels}
	for gk, gl := range s.labelSets {
		if fit.IsSubset(labels, gl) {
			e.keys = append(e.keys, gk)
		}
	}
	s.supersets[k] = e
	return e.keys
}

func (s *Scheduler) nodeLocked(host string) *fit.Node {
	n := s.nodes[host]
	if n == nil {
		n = fit.NewNode(nil)
		s.nodes[host] = n
		s.idx[n] = int32(len(s.idx))
	}
	return n
}

// onPod keeps the accounting in step with the pod cache and queues unbound pods.
func (s *Scheduler) onPod(key string) {
	s.mu.Lock() // read the cache under our lock: the last caller sees the last state
	obj, ok := s.pods.Get(key)
	prev, had := s.accounted[key]
	if !ok {
		freed := false
		if had {
			s.removeLocked(prev.host, prev.pod)
			delete(s.accounted, key)
			freed = !fit.Terminated(prev.pod)
		}
		delete(s.unschedulable, key)
		s.mu.Unlock()
		if freed {
			s.wakeUnschedulable()
		}
		return
	}
	p := obj.(*api.Pod)
	host := p.DesiredState.Host
	if host == "" {
		if had && prev.assumed {
			s.mu.Unlock() // the bind is in flight
			return
		}
		if had { // unbound again: forget it
			s.removeLocked(prev.host, prev.pod)
			delete(s.accounted, key)
		}
		// A pod that fit nowhere waits for its backoff, or for a change
		// that matters: not for its own status update.
		waiting := false
		if tried := s.unschedulable[key]; tried != nil {
			waiting = sameSpec(tried, p)
		}
		s.mu.Unlock()
		if !waiting && !fit.Terminated(p) {
			s.queue.Add(key)
		}
		return
	}
	freed := false
	if had {
		s.removeLocked(prev.host, prev.pod)
		freed = !fit.Terminated(prev.pod) && fit.Terminated(p)
	}
	s.addLocked(host, p)
	s.accounted[key] = accounted{host: host, pod: p}
	delete(s.unschedulable, key)
	s.mu.Unlock()
	if freed {
		s.wakeUnschedulable()
	}
}

func schedulingFields(m *api.Minion) any {
	return struct {
		c api.MinionCondition
		u bool
		l map[string]string
		r api.Capacity
	}{m.Status.Condition, m.Unschedulable, m.Labels, m.Resources.Capacity}
}

// onMinion updates a node's minion and wakes unschedulable pods when
// something that matters for scheduling changed.
func (s *Scheduler) onMinion(key string) {
	s.mu.Lock()
	obj, ok := s.minions.Get(key)
	n := s.nodes[key]
	changed := false
	if !ok {
		if n != nil && n.Minion != nil {
			n.Minion = nil
			s.dirty = true
		}
	} else {
		m := obj.(*api.Minion)
		if n == nil {
			n = s.nodeLocked(key)
		}
		if n.Minion == nil {
			s.dirty, changed = true, true
		} else {
			changed = !reflect.DeepEqual(schedulingFields(n.Minion), schedulingFields(m))
		}
		n.Minion = m
	}
	s.mu.Unlock()
	if changed {
		s.wakeUnschedulable()
	}
}

func (s *Scheduler) wakeUnschedulable() {
	s.mu.Lock()
	keys := make([]string, 0, len(s.unschedulable))
	for k := range s.unschedulable {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.queue.Add(k)
	}
}

func (s *Scheduler) candidatesLocked() []*fit.Node {
	if s.dirty {
		s.candidates = s.candidates[:0]
		for _, n := range s.nodes {
			if n.Minion != nil {
				s.candidates = append(s.candidates, n)
			}
		}
		sort.Slice(s.candidates, func(i, j int) bool { return s.candidates[i].Minion.ID < s.candidates[j].Minion.ID })
		s.candIdx, s.candHash = s.candIdx[:0], s.candHash[:0]
		for _, n := range s.candidates {
			s.candIdx = append(s.candIdx, s.idx[n])
			s.candHash = append(s.candHash, hashString(0, n.Minion.ID))
		}
		s.dirty = false
	}
	return s.candidates
}

var errUnschedulable = errors.New("fits no minion")

// Sync schedules the pod with key: the loop's unit of work, exported for tests.
func (s *Scheduler) Sync(ctx context.Context, key string) error { return s.sync(ctx, key) }

func (s *Scheduler) sync(ctx context.Context, key string) error {
	a := s.decide(key)
	if a == nil {
		return nil
	}
	return s.apply(ctx, a)
}

// action is what a decision asks the bind workers to do.
type action struct {
	key  string
	pod  *api.Pod
	host string // bind here; "" = unschedulable with msg
	msg  string
	// start is when the decision began (scheduler_e2e_scheduling_duration_seconds).
	start time.Time
}

// decide chooses a minion for the pod with key under the lock and assumes
// it there; nil means there is nothing to do.
func (s *Scheduler) decide(key string) *action {
	obj, ok := s.pods.Get(key)
	if !ok {
		return nil
	}
	p := obj.(*api.Pod)
	if p.DesiredState.Host != "" || fit.Terminated(p) {
		return nil
	}
	start := time.Now()
	pi := fit.NewPodInfo(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounted[key]; ok && a.host != "" {
		return nil // bound or being bound
	}
	nodes := s.candidatesLocked()
	var counts [][]int32
	for _, k := range s.spreadKeysForLocked(p) {
		if c := s.groupCounts[k]; len(c) > 0 {
			counts = append(counts, c)
		}
	}
	spread := func(j int) int {
		i, sum := s.candIdx[j], 0
		for _, c := range counts {
			if int(i) < len(c) {
				sum += int(c[i])
			}
		}
		return sum
	}
	host, reasons := scheduleInfo(pi, nodes, spread, func(j int) uint64 { return s.candHash[j] }, s.cfg.Seed)
	if host == "" {
		s.unschedulable[key] = p
		return &action{key: key, pod: p, msg: fit.Summarize(len(nodes), reasons), start: start}
	}
	s.addLocked(host, p)
	s.accounted[key] = accounted{host: host, pod: p, assumed: true}
	delete(s.unschedulable, key)
	return &action{key: key, pod: p, host: host, start: start}
}

// apply performs a decision: the binding, or the unschedulable reason and
// event. An error asks for a retry with backoff.
func (s *Scheduler) apply(ctx context.Context, a *action) error {
	p, key, host := a.pod, a.key, a.host
	if host == "" {
		metrics.SchedulerAttempts.WithLabelValues("unschedulable").Inc()
		s.markUnschedulable(ctx, p, a.msg)
		s.rec.Record(ctx, p, EventFailedScheduling, a.msg)
		s.log.WithField("pod", key).Debug(a.msg)
		return fmt.Errorf("schedule pod %s: %w: %s", key, errUnschedulable, a.msg)
	}
	if err := s.bind(ctx, p, host); err != nil {
		s.mu.Lock()
		if acc, ok := s.accounted[key]; ok && acc.assumed && acc.host == host {
			s.removeLocked(host, acc.pod)
			delete(s.accounted, key)
		}
		s.mu.Unlock()
		if api.IsNotFound(err) {
			return nil // the pod is gone
		}
		metrics.SchedulerAttempts.WithLabelValues("error").Inc()
		s.log.WithError(err).WithField("pod", key).Debug("bind failed; requeued")
		return err
	}
	metrics.SchedulerAttempts.WithLabelValues("scheduled").Inc()
	metrics.SchedulerE2E.Observe(time.Since(a.start).Seconds())
	s.rec.Record(ctx, p, EventScheduled, fmt.Sprintf("Successfully assigned %s to %s", p.ID, host))
	if p.CurrentState.Reason == ReasonUnschedulable {
		s.clearUnschedulable(ctx, key)
	}
	return nil
}

// loop is the decider: one goroutine takes keys and decides, so decisions
// never wait on each other's locks; Workers goroutines apply them.
func (s *Scheduler) loop(ctx context.Context) {
	actions := make(chan *action, s.cfg.Workers)
	finish := func(key string, err error) {
		if err != nil && ctx.Err() == nil {
			s.queue.AddRateLimited(key)
		} else {
			s.queue.Forget(key)
		}
		s.queue.Done(key)
	}
	var wg sync.WaitGroup
	for i := 0; i < s.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range actions {
				finish(a.key, s.apply(ctx, a))
			}
		}()
	}
	go func() {
		<-ctx.Done()
		s.queue.ShutDown()
	}()
	for {
		key, ok := s.queue.Get()
		if !ok {
			break
		}
		a := s.decide(key)
		if a == nil {
			finish(key, nil)
			continue
		}
		actions <- a
	}
	close(actions)
	wg.Wait()
}

func (s *Scheduler) bind(ctx context.Context, p *api.Pod, host string) error {
	b := &api.Binding{TypeMeta: api.TypeMeta{ID: p.ID, Namespace: p.Namespace}, PodID: p.ID, Host: host}
	if _, err := s.st.Create(ctx, b); err != nil {
		return fmt.Errorf("bind pod %s to %s: %w", p.ID, host, err)
	}
	return nil
}

// markUnschedulable writes the reason on the pod unless it is already there.
func (s *Scheduler) markUnschedulable(ctx context.Context, p *api.Pod, msg string) {
	if p.CurrentState.Reason == ReasonUnschedulable && p.CurrentState.Message == msg {
		return
	}
	c := api.Copy(p)
	c.CurrentState.Reason, c.CurrentState.Message = ReasonUnschedulable, msg
	if c.CurrentState.Phase == "" {
		c.CurrentState.Phase = api.PodPhasePending
	}
	if _, err := s.st.Update(ctx, c); err != nil {
		s.log.WithError(err).WithField("pod", api.Key(p)).Debug("write unschedulable reason")
	}
}

// sameSpec reports whether two versions of a pod ask for the same placement.
func sameSpec(a, b *api.Pod) bool {
	return reflect.DeepEqual(a.DesiredState.Manifest, b.DesiredState.Manifest) &&
		reflect.DeepEqual(a.NodeSelector, b.NodeSelector) && reflect.DeepEqual(a.Labels, b.Labels)
}

// clearUnschedulable removes a stale Unschedulable reason after a bind.
func (s *Scheduler) clearUnschedulable(ctx context.Context, key string) {
	k := api.ParseKey(key)
	for i := 0; i < 3; i++ {
		obj, err := s.st.Get(ctx, api.Pods, k.Namespace, k.ID)
		if err != nil {
			return
		}
		p := obj.(*api.Pod)
		if p.CurrentState.Reason != ReasonUnschedulable {
			return
		}
		p.CurrentState.Reason, p.CurrentState.Message = "", ""
		if _, err := s.st.Update(ctx, p); err == nil || !api.IsConflict(err) {
			return
		}
	}
}
