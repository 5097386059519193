package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// DefaultHistory is how many changes a Store keeps for watches from the past.
const DefaultHistory = 10000

// Store is an in-memory store.Store.
type Store struct {
	mu       sync.Mutex
	rev      uint64
	data     map[string]entry
	history  []change // oldest first
	maxHist  int
	watchers map[*watcher]struct{}
}

type entry struct {
	res  api.Resource
	data []byte
}

type change struct {
	rev       uint64
	res       api.Resource
	prev, cur []byte // nil when absent
}

var _ store.Store = (*Store)(nil)

// New returns an empty store keeping DefaultHistory changes.
func New() *Store { return NewWithHistory(DefaultHistory) }

// NewWithHistory returns an empty store keeping n changes for watches.
func NewWithHistory(n int) *Store {
	// Revision 1, not 0: a List of an empty store must return a revision a
	// Watch can start from (0 means "from now" and would miss what is
	// created between the List and the Watch).
	return &Store{rev: 1, data: map[string]entry{}, maxHist: n, watchers: map[*watcher]struct{}{}}
}

// Revision returns the store's current revision.
func (s *Store) Revision() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rev
}

func decode(res api.Resource, data []byte) api.Object {
	obj, err := api.Decode(res, data)
	if err != nil {
		panic(fmt.Sprintf("memory store: stored %s does not decode: %v", res, err))
	}
	return obj
}

func keyOf(obj api.Object) (api.Resource, string, error) {
	res, err := api.ResourceOf(obj)
	if err != nil {
		return "", "", err
	}
	m := obj.Meta()
	if m.ID == "" {
		return "", "", api.NewInvalid(res.Kind(), "", []api.StatusCause{{Reason: api.CauseRequired, Field: "id", Message: "required"}})
	}
	ns := store.Namespace(res, m.Namespace)
	m.Namespace = ns
	return res, store.Key(res, ns, m.ID), nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, res api.Resource, ns, id string) (api.Object, error) {
	key := store.Key(res, store.Namespace(res, ns), id)
	s.mu.Lock()
	e, ok := s.data[key]
	s.mu.Unlock()
	if !ok {
		return nil, api.NewNotFound(res.Kind(), id)
	}
	return decode(res, e.data), nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	prefix := store.ResourcePrefix(res, store.Namespace(res, opts.Namespace))
	if opts.Namespace == "" {
		prefix = store.ResourcePrefix(res, "")
	}
	s.mu.Lock()
	var raws [][]byte
	var keys []string
	for k := range s.data {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		raws = append(raws, s.data[k].data)
	}
	rev := s.rev
	s.mu.Unlock()
	out := make([]api.Object, 0, len(raws))
	for _, raw := range raws {
		obj := decode(res, raw)
		if opts.Matches(obj) {
			out = append(out, obj)
		}
	}
	return out, rev, nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	res, key, err := keyOf(obj)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.data[key]; ok {
		return nil, api.NewAlreadyExists(res.Kind(), obj.Meta().ID)
	}
	return s.writeLocked(res, key, nil, obj)
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, obj api.Object) (api.Object, error) {
	res, key, err := keyOf(obj)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.data[key]
	if !ok {
		return nil, api.NewNotFound(res.Kind(), obj.Meta().ID)
	}
	if rv := obj.Meta().ResourceVersion; rv != 0 {
		cur := decode(res, old.data).Meta().ResourceVersion
		if cur != rv {
			return nil, api.NewConflict(res.Kind(), obj.Meta().ID, fmt.Sprintf("resourceVersion %d is stale (now %d)", rv, cur))
		}
	}
	return s.writeLocked(res, key, old.data, obj)
}

func (s *Store) writeLocked(res api.Resource, key string, prev []byte, obj api.Object) (api.Object, error) {
	s.rev++
	obj = api.Copy(obj)
	obj.Meta().ResourceVersion = s.rev
	data, err := json.Marshal(obj)
	if err != nil {
		s.rev--
		return nil, api.NewInternal(fmt.Errorf("encode %s: %w", key, err))
	}
	s.data[key] = entry{res: res, data: data}
	s.recordLocked(change{rev: s.rev, res: res, prev: prev, cur: data})
	return decode(res, data), nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, res api.Resource, ns, id string) (api.Object, error) {
	key := store.Key(res, store.Namespace(res, ns), id)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.data[key]
	if !ok {
		return nil, api.NewNotFound(res.Kind(), id)
	}
	delete(s.data, key)
	s.rev++
	last := decode(res, old.data)
	last.Meta().ResourceVersion = s.rev
	lastData, _ := json.Marshal(last)
	s.recordLocked(change{rev: s.rev, res: res, prev: lastData})
	return last, nil
}

func (s *Store) recordLocked(c change) {
	s.history = append(s.history, c)
	if len(s.history) > s.maxHist {
		drop := len(s.history) - s.maxHist
		s.history = append(s.history[:0:0], s.history[drop:]...)
	}
	for w := range s.watchers {
		w.push(c)
	}
}

// Watch implements store.Store.
func (s *Store) Watch(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	s.mu.Lock()
	var backlog []change
	if opts.ResourceVersion != 0 {
		oldest := s.rev + 1
		if len(s.history) > 0 {
			oldest = s.history[0].rev
		}
		if opts.ResourceVersion+1 < oldest {
			s.mu.Unlock()
			return nil, api.NewGone(fmt.Sprintf("resourceVersion %d is older than the history kept (oldest %d)", opts.ResourceVersion, oldest))
		}
		for _, c := range s.history {
			if c.rev > opts.ResourceVersion && c.res == res {
				backlog = append(backlog, c)
			}
		}
	}
	w := &watcher{res: res, opts: opts, queue: backlog, wake: make(chan struct{}, 1), out: make(chan store.Event)}
	s.watchers[w] = struct{}{}
	s.mu.Unlock()
	go func() {
		w.run(ctx)
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
	}()
	return w.out, nil
}

type watcher struct {
	res   api.Resource
	opts  store.ListOptions
	mu    sync.Mutex
	queue []change
	wake  chan struct{}
	out   chan store.Event
}

func (w *watcher) push(c change) {
	if c.res != w.res {
		return
	}
	w.mu.Lock()
	w.queue = append(w.queue, c)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.out)
	for {
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		w.mu.Unlock()
		for _, c := range batch {
			var prev, cur api.Object
			if c.prev != nil {
				prev = decode(c.res, c.prev)
			}
			if c.cur != nil {
				cur = decode(c.res, c.cur)
			}
			if cur == nil && prev != nil {
				prev.Meta().ResourceVersion = c.rev
			}
			ev, ok := store.FilterEvent(w.opts, prev, cur)
			if !ok {
				continue
			}
			if ev.Type == store.Deleted {
				ev.Object.Meta().ResourceVersion = c.rev
			}
			select {
			case w.out <- ev:
			case <-ctx.Done():
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return
		}
	}
}
