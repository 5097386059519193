package scheduler

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/fit"
	"kubelite/internal/logging"
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
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log      *logrus.Entry
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
	nextStart   int      // the candidate the next decision looks at first
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
		log:           logging.OrDiscard(cfg.Log),
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
	s.pods = store.NewInformer(cfg.Store, api.Pods, store.ListOptions{}, s.onPod).WithLog(s.log)
	s.minions = store.NewInformer(cfg.Store, api.Minions, store.ListOptions{}, s.onMinion).WithLog(s.log)
	s.services = store.NewInformer(cfg.Store, api.Services, store.ListOptions{}, nil).WithLog(s.log)
	return s
}

// Name implements component.Component.
func (s *Scheduler) Name() string { return "scheduler" }

// Run implements component.Component: it calls started once the three
// caches are loaded and schedules until ctx ends.
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
