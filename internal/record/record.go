package record

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/logging"
	"kubelite/internal/store"
)

// Recorder records an event about obj.
type Recorder interface {
	Record(ctx context.Context, obj api.Object, reason, message string)
}

// FieldRecorder also records events about a part of an object, named by
// a field path (a pod's container: "desiredState.manifest.containers{web}").
type FieldRecorder interface {
	Recorder
	RecordField(ctx context.Context, obj api.Object, fieldPath, reason, message string)
}

// Nop drops every event: the Recorder of a component configured without one.
type Nop struct{}

var _ FieldRecorder = Nop{}

// Record implements Recorder.
func (Nop) Record(context.Context, api.Object, string, string) {}

// RecordField implements FieldRecorder.
func (Nop) RecordField(context.Context, api.Object, string, string, string) {}

// Config configures a Store recorder.
type Config struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log *logrus.Entry
	// Source names the component ("scheduler", "replication-manager", ...).
	Source string
	// Clock defaults to the wall clock.
	Clock clock.Clock
	// QPS and Burst bound the events written per second (defaults 50 and 500).
	QPS   float64
	Burst int
	// DedupWindow drops repeats of the same event (default 10 minutes).
	DedupWindow time.Duration
	// MaxDedup bounds the remembered events (default 4096).
	MaxDedup int
}

// Store writes events through a store.Store.
type Store struct {
	st  store.Store
	cfg Config
	log *logrus.Entry

	mu     sync.Mutex
	tokens float64
	last   time.Time
	seen   map[string]time.Time
	seq    uint64
}

var _ FieldRecorder = (*Store)(nil)

// New returns a recorder writing through s.
func New(s store.Store, cfg Config) *Store {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.QPS <= 0 {
		cfg.QPS = 50
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 500
	}
	if cfg.DedupWindow <= 0 {
		cfg.DedupWindow = 10 * time.Minute
	}
	if cfg.MaxDedup <= 0 {
		cfg.MaxDedup = 4096
	}
	return &Store{st: s, cfg: cfg, tokens: float64(cfg.Burst), seen: map[string]time.Time{},
		log: logging.OrDiscard(cfg.Log).WithField("source", cfg.Source)}
}

// Event builds the event Record would write (without an id).
func Event(obj api.Object, reason, message, source string, now time.Time) *api.Event {
	m := obj.Meta()
	kind := m.Kind
	if r, err := api.ResourceOf(obj); err == nil {
		kind = r.Kind()
	}
	ns := m.Namespace
	if ns == "" {
		ns = api.DefaultNamespace
	}
	return &api.Event{
		TypeMeta: api.TypeMeta{Namespace: ns},
		InvolvedObject: api.ObjectReference{
			Kind: kind, Namespace: m.Namespace, Name: m.ID, UID: m.UID,
			APIVersion: api.APIVersion, ResourceVersion: m.ResourceVersion,
		},
		Reason: reason, Message: message, Source: source, Timestamp: now,
	}
}

// Record implements Recorder.
func (r *Store) Record(ctx context.Context, obj api.Object, reason, message string) {
	r.RecordField(ctx, obj, "", reason, message)
}

// RecordField implements FieldRecorder: Record with the event's
// involvedObject.fieldPath set (part of what deduplicates).
func (r *Store) RecordField(ctx context.Context, obj api.Object, fieldPath, reason, message string) {
	now := r.cfg.Clock.Now()
	// The bucket first: in a burst (30,000 bindings) most events are
	// dropped here, before their dedup key is even made.
	r.mu.Lock()
	r.refill(now)
	empty := r.tokens < 1
	r.mu.Unlock()
	if empty {
		r.dropped(reason)
		return
	}
	m := obj.Meta()
	dk := fmt.Sprintf("%T/%s/%s\x00%s\x00%s\x00%s", obj, m.Namespace, m.ID, fieldPath, reason, message)
	r.mu.Lock()
	if t, ok := r.seen[dk]; ok && now.Sub(t) < r.cfg.DedupWindow {
		r.mu.Unlock()
		return
	}
	if r.tokens < 1 { // taken meanwhile
		r.mu.Unlock()
		r.dropped(reason)
		return
	}
	r.tokens--
	if len(r.seen) >= r.cfg.MaxDedup {
		for k, t := range r.seen {
			if now.Sub(t) >= r.cfg.DedupWindow || len(r.seen) >= r.cfg.MaxDedup {
				delete(r.seen, k)
			}
			if len(r.seen) < r.cfg.MaxDedup/2 {
				break
			}
		}
	}
	r.seen[dk] = now
	r.seq++
	seq := r.seq
	r.mu.Unlock()

	ev := Event(obj, reason, message, r.cfg.Source, now)
	ev.InvolvedObject.FieldPath = fieldPath
	ev.ID = fmt.Sprintf("%s.%x%d", m.ID, now.UnixNano(), seq)
	if _, err := r.st.Create(ctx, ev); err != nil {
		r.log.WithError(err).WithField("reason", reason).Debug("write event")
	}
}

// refill adds the tokens earned since the last event (r.mu held).
func (r *Store) refill(now time.Time) {
	if !r.last.IsZero() {
		r.tokens = min(r.tokens+now.Sub(r.last).Seconds()*r.cfg.QPS, float64(r.cfg.Burst))
	}
	r.last = now
}

// dropped logs an event the bucket had no token for (at debug level: not
// even the log entry is made otherwise).
func (r *Store) dropped(reason string) {
	if r.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
		r.log.WithField("reason", reason).Debug("event dropped: rate limit")
	}
}

// Fake collects events in memory for tests.
type Fake struct {
	mu     sync.Mutex
	Events []*api.Event
}

var _ FieldRecorder = (*Fake)(nil)

// Record implements Recorder.
func (f *Fake) Record(ctx context.Context, obj api.Object, reason, message string) {
	f.RecordField(ctx, obj, "", reason, message)
}

// RecordField implements FieldRecorder.
func (f *Fake) RecordField(ctx context.Context, obj api.Object, fieldPath, reason, message string) {
	ev := Event(obj, reason, message, "fake", time.Time{})
	ev.InvolvedObject.FieldPath = fieldPath
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Events = append(f.Events, ev)
}

// Reasons returns "reason: object: message" for every event recorded so far.
func (f *Fake) Reasons() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.Events))
	for i, e := range f.Events {
		out[i] = e.Reason + ": " + e.InvolvedObject.Name + ": " + e.Message
	}
	return out
}

// Count returns how many events with reason were recorded.
func (f *Fake) Count(reason string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, e := range f.Events {
		if e.Reason == reason {
			n++
		}
	}
	return n
}
