package store

import (
	"context"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/logging"
)

// Informer keeps a local cache of one resource (narrowed by ListOptions) by
// listing and then watching, re-listing whenever the watch breaks or is
// Gone. It calls OnChange with the key (api.Key) of every object that was
// added, changed or removed, which is all a level-triggered controller needs:
// the worker re-reads the cache (or the store) and converges.
//
// Objects handed out by Get and List are shared with the cache: never mutate
// them; api.Copy first.
type Informer struct {
	store    Store
	res      api.Resource
	opts     ListOptions
	onChange func(key string)
	log      *logrus.Entry
	rep      *logging.Repeater // set by Run

	mu     sync.RWMutex
	items  map[string]api.Object
	rev    uint64
	synced chan struct{}
	once   sync.Once
}

// NewInformer returns an informer; onChange may be nil.
func NewInformer(s Store, res api.Resource, opts ListOptions, onChange func(key string)) *Informer {
	return &Informer{
		store: s, res: res, opts: opts, onChange: onChange,
		log:   logging.Discard(),
		items: map[string]api.Object{}, synced: make(chan struct{}),
	}
}

// WithLog sets the logger (its owner's, with the owner's component field)
// and returns i; call it before Run. Without it i logs nothing.
func (i *Informer) WithLog(l *logrus.Entry) *Informer {
	i.log = logging.OrDiscard(l).WithField("resource", string(i.res))
	return i
}

// Synced is closed once the first list has been loaded.
func (i *Informer) Synced() <-chan struct{} { return i.synced }

// WaitSynced blocks until the first list is loaded or ctx ends.
func (i *Informer) WaitSynced(ctx context.Context) bool {
	select {
	case <-i.synced:
		return true
	case <-ctx.Done():
		return false
	}
}

// Get returns the cached object with key, shared: do not mutate.
func (i *Informer) Get(key string) (api.Object, bool) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	o, ok := i.items[key]
	return o, ok
}

// List returns every cached object, shared: do not mutate.
func (i *Informer) List() []api.Object {
	i.mu.RLock()
	defer i.mu.RUnlock()
	out := make([]api.Object, 0, len(i.items))
	for _, o := range i.items {
		out = append(out, o)
	}
	return out
}

// Keys returns the keys of every cached object.
func (i *Informer) Keys() []string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	out := make([]string, 0, len(i.items))
	for k := range i.items {
		out = append(out, k)
	}
	return out
}

// Run lists and watches until ctx ends. Errors are retried with backoff (up
// to 5 s) and warned through a logging.Repeater (first failure, then with
// growing intervals, then "recovered"); Run returns nil when ctx ends.
func (i *Informer) Run(ctx context.Context) error {
	i.rep = logging.NewRepeater(logging.RepeaterConfig{Log: i.log, What: "list and watch " + string(i.res),
		Hint: "the store must answer: etcd on a master (kubelite doctor master), the master's API on a minion (kubelite doctor minion)"})
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		if err := i.listAndWatch(ctx); err != nil && ctx.Err() == nil {
			if api.IsGone(err) {
				// Compacted past the watch's revision: re-list, as designed.
				i.log.WithError(err).Debug("watch expired; re-listing")
			} else {
				i.rep.Fail(err)
			}
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
	}
	return nil
}

// list and watch read through the store's shared list and watch when it has
// them: the cache's objects are read only by contract, so they need no copy
// of their own (one decoded object per change for every informer of a
// process, instead of one copy per informer).
func (i *Informer) list(ctx context.Context) ([]api.Object, uint64, error) {
	if sl, ok := i.store.(SharedLister); ok {
		return sl.ListShared(ctx, i.res, i.opts)
	}
	return i.store.List(ctx, i.res, i.opts)
}

func (i *Informer) watch(ctx context.Context, opts ListOptions) (<-chan Event, error) {
	if sw, ok := i.store.(SharedWatcher); ok {
		return sw.WatchShared(ctx, i.res, opts)
	}
	return i.store.Watch(ctx, i.res, opts)
}

func (i *Informer) listAndWatch(ctx context.Context) error {
	objs, rev, err := i.list(ctx)
	if err != nil {
		return err
	}
	i.replace(objs, rev)
	i.rep.OK()
	for {
		wopts := i.opts
		wopts.ResourceVersion = i.revision()
		wctx, cancel := context.WithCancel(ctx)
		ch, err := i.watch(wctx, wopts)
		if err != nil {
			cancel()
			return err // Gone or broken: re-list
		}
		for ev := range ch {
			if ev.Type == Error {
				cancel()
				return errFromEvent(ev)
			}
			i.apply(ev)
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		// The stream ended: watch again from the last revision seen.
	}
}

func errFromEvent(ev Event) error {
	if s, ok := ev.Object.(*api.Status); ok {
		return &api.StatusError{Status: *s}
	}
	return api.NewInternal(context.Canceled)
}

func (i *Informer) revision() uint64 {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.rev
}

func (i *Informer) replace(objs []api.Object, rev uint64) {
	changed := map[string]bool{}
	i.mu.Lock()
	fresh := make(map[string]api.Object, len(objs))
	for _, o := range objs {
		k := api.Key(o)
		fresh[k] = o
		if old, ok := i.items[k]; !ok || old.Meta().ResourceVersion != o.Meta().ResourceVersion {
			changed[k] = true
		}
	}
	for k := range i.items {
		if _, ok := fresh[k]; !ok {
			changed[k] = true
		}
	}
	i.items, i.rev = fresh, rev
	i.mu.Unlock()
	if i.onChange != nil {
		for k := range changed {
			i.onChange(k)
		}
	}
	// Synced only after the first list's keys were handed to onChange, so a
	// component that waits for Synced has seen every object at least once.
	i.once.Do(func() { close(i.synced) })
}

func (i *Informer) apply(ev Event) {
	k := ev.Key
	if k == "" {
		k = api.Key(ev.Object)
	}
	i.mu.Lock()
	if ev.Type == Deleted {
		delete(i.items, k)
	} else {
		i.items[k] = ev.Object
	}
	if rv := ev.Object.Meta().ResourceVersion; rv > i.rev {
		i.rev = rv
	}
	i.mu.Unlock()
	if i.onChange != nil {
		i.onChange(k)
	}
}

// StartInformers runs each informer in a goroutine of its own until ctx ends
// or stop is called, and returns stop: it ends the informers and waits for
// them all to return. Callers defer it; it needs no cancel of ctx first (a
// caller returning early, before its ctx ended, does not wait for ever).
func StartInformers(ctx context.Context, infs ...*Informer) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, inf := range infs {
		wg.Add(1)
		go func() { defer wg.Done(); _ = inf.Run(ctx) }()
	}
	return func() { cancel(); wg.Wait() }
}
