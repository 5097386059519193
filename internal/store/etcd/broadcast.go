package etcd

import (
	"context"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// The shared watch: one etcd watch per resource (all namespaces) while
// anyone watches it, whose events are decoded once and fanned out to every
// watcher, each applying its own ListOptions with store.FilterEvent. A
// watcher's events are queued for it alone, so a slow watcher delays no
// other. The last histLen changes are kept, so a watcher from a revision the
// shared watch has already passed replays them; a watcher from further back
// (or from a revision the shared watch was started after) gets an etcd watch
// of its own, as before.

// histLen is how many recent changes a shared watch keeps at least for late
// joiners (up to twice as many).
const histLen = 1024

// maxQueue bounds the changes queued for one watcher; beyond it the watcher's
// channel is closed (a broken stream: it watches again from its last revision).
const maxQueue = 1 << 16

// watchBuffer is the events a shared watcher's channel holds.
const watchBuffer = 64

// change is one decoded etcd event, shared read-only by every watcher.
type change struct {
	rev       int64
	prev, cur api.Object // prev of a delete carries the delete's revision
}

type broadcaster struct {
	s   *Store
	res api.Resource

	mu     sync.Mutex
	start  int64 // every change with rev > start is in hist or yet to come
	hist   []change
	subs   map[*subscriber]struct{}
	cancel context.CancelFunc
}

type subscriber struct {
	mu     sync.Mutex
	queue  []change
	failed *api.Status // delivered as an Error event once queue is drained
	closed bool        // no more changes will come
	wake   chan struct{}
}

func (sub *subscriber) push(chs ...change) {
	sub.mu.Lock()
	if !sub.closed {
		if len(sub.queue)+len(chs) > maxQueue {
			sub.closed, sub.queue = true, nil
		} else {
			sub.queue = append(sub.queue, chs...)
		}
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

func (sub *subscriber) end(st *api.Status) {
	sub.mu.Lock()
	if !sub.closed {
		sub.closed, sub.failed = true, st
	}
	sub.mu.Unlock()
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// take returns the queued changes, and whether the stream has ended (with
// its error, if any) once they are delivered.
func (sub *subscriber) take() ([]change, bool, *api.Status) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	q := sub.queue
	sub.queue = nil
	return q, sub.closed, sub.failed
}

// subscribe joins the shared watch of res from revision from (changes with
// rev >= from); cur is the store's current revision. It reports false when
// the shared watch cannot serve from (the caller watches on its own).
func (s *Store) subscribe(res api.Resource, from, cur int64) (*broadcaster, *subscriber, bool) {
	s.bcMu.Lock()
	defer s.bcMu.Unlock()
	b := s.bcasts[res]
	sub := &subscriber{wake: make(chan struct{}, 1)}
	if b == nil {
		// Start a shared watch just before from (or at the current revision
		// when from is in the future, so that later joiners are served).
		start := min(from-1, cur)
		ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(context.Background()))
		b = &broadcaster{s: s, res: res, start: start, subs: map[*subscriber]struct{}{sub: {}}, cancel: cancel}
		s.bcasts[res] = b
		wch := s.cli.Watch(ctx, store.ResourcePrefix(res, ""), clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(start+1))
		go b.run(wch)
		return b, sub, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if from <= b.start {
		return nil, nil, false
	}
	for _, c := range b.hist {
		if c.rev >= from {
			sub.queue = append(sub.queue, c)
		}
	}
	b.subs[sub] = struct{}{}
	return b, sub, true
}

// unsubscribe leaves b; the last one out stops the etcd watch.
func (s *Store) unsubscribe(b *broadcaster, sub *subscriber) {
	s.bcMu.Lock()
	defer s.bcMu.Unlock()
	b.mu.Lock()
	delete(b.subs, sub)
	last := len(b.subs) == 0
	b.mu.Unlock()
	if last && s.bcasts[b.res] == b {
		delete(s.bcasts, b.res)
		b.cancel()
	}
}

// run decodes the etcd watch's events once and hands them to every
// subscriber; when the watch ends, every subscriber's stream ends with it.
func (b *broadcaster) run(wch clientv3.WatchChan) {
	var failed *api.Status
	for resp := range wch {
		if resp.CompactRevision != 0 {
			failed = &gone(uint64(b.start)).Status
			break
		}
		if err := resp.Err(); err != nil {
			st := storeErr("watch", store.ResourcePrefix(b.res, ""), err).(*api.StatusError).Status
			failed = &st
			break
		}
		chs := make([]change, 0, len(resp.Events))
		for _, e := range resp.Events {
			if c, ok := b.s.decodeChange(b.res, e); ok {
				chs = append(chs, c)
			}
		}
		b.mu.Lock()
		b.hist = append(b.hist, chs...)
		// Trimmed to histLen once it holds twice that: a copy per histLen
		// changes, not per change.
		if n := len(b.hist); n > 2*histLen {
			drop := n - histLen
			b.start = b.hist[drop-1].rev
			// Changes of one transaction share a revision: keep start below
			// every change still held.
			if b.hist[drop].rev == b.start {
				b.start--
			}
			b.hist = append(b.hist[:0:0], b.hist[drop:]...)
		}
		for sub := range b.subs {
			sub.push(chs...)
		}
		b.mu.Unlock()
		if failed != nil {
			break
		}
	}
	// Detach first, so that no new subscriber joins a dead watch.
	b.s.bcMu.Lock()
	if b.s.bcasts[b.res] == b {
		delete(b.s.bcasts, b.res)
	}
	b.s.bcMu.Unlock()
	b.cancel()
	b.mu.Lock()
	for sub := range b.subs {
		sub.end(failed)
	}
	b.mu.Unlock()
}

// decodeChange decodes an etcd event once for every watcher. A value that
// does not decode is as if absent (undecodable.go): a put of one over a
// good value is a delete of the good one; false when neither side decodes.
func (s *Store) decodeChange(res api.Resource, e *clientv3.Event) (change, bool) {
	c := change{rev: e.Kv.ModRevision}
	if e.PrevKv != nil {
		// Usually cached: decoded when it was the current value.
		c.prev = s.decodeShared(res, e.PrevKv)
	}
	if e.Type == clientv3.EventTypePut {
		c.cur = s.decodeShared(res, e.Kv)
	} else {
		s.uncache(res, string(e.Kv.Key), c.rev)
	}
	if c.cur == nil && c.prev != nil {
		// A delete, as watchers see it: the last state at the delete's
		// revision (a copy: the decoded object is shared).
		c.prev = shallowCopy(c.prev)
		c.prev.Meta().ResourceVersion = uint64(c.rev)
	}
	return c, c.prev != nil || c.cur != nil
}

// watchShared serves one watcher from the shared watch; copies says whether
// each delivered object is the watcher's own (store.Store's Watch) or the
// shared, read-only one (WatchShared).
func (s *Store) watchShared(ctx context.Context, b *broadcaster, sub *subscriber, opts store.ListOptions, from int64, copies bool) <-chan store.Event {
	// Buffered, so that a batch of changes is handed over at once and the
	// reader (an API watch stream) sees it ready together: it writes and
	// flushes it as one, instead of once per event as it would while this
	// goroutine and it took turns.
	out := make(chan store.Event, watchBuffer)
	go func() {
		defer close(out)
		defer s.unsubscribe(b, sub)
		send := func(ev store.Event) bool {
			select {
			case out <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			chs, closed, failed := sub.take()
			for _, c := range chs {
				if c.rev < from {
					continue
				}
				ev, ok := store.FilterEvent(opts, c.prev, c.cur)
				if !ok {
					continue
				}
				if copies {
					ev.Object = api.DeepCopy(ev.Object)
				}
				if !send(ev) {
					return
				}
			}
			if closed {
				if failed != nil && ctx.Err() == nil {
					st := *failed
					send(store.Event{Type: store.Error, Object: &st})
				}
				return
			}
			select {
			case <-sub.wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
