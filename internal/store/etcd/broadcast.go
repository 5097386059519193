package etcd

import (
	"bytes"
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
//
// Pod watchers whose field selector requires one host (a kubelet's
// DesiredState.Host=NAME, the scheduler's DesiredState.Host=) are indexed by
// that host: a change is queued only for the watchers of the pod's host
// before and after it (both, for a pod that moved), not for every kubelet
// of the cluster; each still filters what it gets with store.FilterEvent,
// so what it sees is unchanged (routing only skips watchers the filter
// would give nothing). The other watchers get every change. Field
// selectors read each field off the object (api.FieldOf): no map of an
// object's fields is built per change.
//
// A writer hands the shared watch the object it is about to write, with
// its bytes (expect): the watch takes it for the first put of that key
// with those very bytes instead of decoding them again (canonical.go says
// why it is the same object). Matching the bytes rather than the revision
// needs no revision, so the object is there before the put: the watch can
// never see the event first. A write that fails takes its object back.

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
	key       string     // api.Key of the object, for every watcher (store.Event.Key)
}

type broadcaster struct {
	s   *Store
	res api.Resource

	mu     sync.Mutex
	start  int64 // every change with rev > start is in hist or yet to come
	hist   []change
	subs   map[*subscriber]struct{}            // every subscriber
	byHost map[string]map[*subscriber]struct{} // indexed ones, by host
	rest   map[*subscriber]struct{}            // the others: every change
	cancel context.CancelFunc

	freshMu sync.Mutex
	fresh   map[string][]*written // objects being written, by key (expect)
	dead    bool                  // the watch has ended
}

// written is an object a writer is writing: the bytes it puts, and what
// decoding them gives (canonical.go, resourceVersion still to set).
type written struct {
	b    *broadcaster
	key  string
	data []byte
	obj  api.Object
}

type subscriber struct {
	opts    store.ListOptions
	host    string // with indexed: the host its selector requires
	indexed bool

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

// indexHost returns the host a watcher of res with opts is indexed by: a
// pod watcher whose field selector requires DesiredState.Host (or its alias
// Status.Host) to equal one value sees only pods on that host.
func indexHost(res api.Resource, opts store.ListOptions) (string, bool) {
	if res != api.Pods {
		return "", false
	}
	if h, ok := opts.Fields.RequiresExactly(api.FieldDesiredStateHost); ok {
		return h, true
	}
	return opts.Fields.RequiresExactly(api.FieldStatusHost)
}

// changeHosts returns the hosts of a change's pod before and after it (n is
// 1 when they are the same, or one side is absent); false when an object is
// not a pod (every indexed watcher must then see the change).
func changeHosts(c change) (hosts [2]string, n int, ok bool) {
	for _, o := range [2]api.Object{c.prev, c.cur} {
		if o == nil {
			continue
		}
		p, isPod := o.(*api.Pod)
		if !isPod {
			return hosts, 0, false
		}
		if n == 0 || hosts[0] != p.DesiredState.Host {
			hosts[n] = p.DesiredState.Host
			n++
		}
	}
	return hosts, n, true
}

// concerns reports whether an indexed subscriber may see c: its pod was or
// is on the subscriber's host.
func (sub *subscriber) concerns(c change) bool {
	if !sub.indexed {
		return true
	}
	hosts, n, ok := changeHosts(c)
	if !ok {
		return true
	}
	for _, h := range hosts[:n] {
		if h == sub.host {
			return true
		}
	}
	return false
}

// add indexes sub in b; b.mu is held.
func (b *broadcaster) add(sub *subscriber) {
	b.subs[sub] = struct{}{}
	if !sub.indexed {
		b.rest[sub] = struct{}{}
		return
	}
	m := b.byHost[sub.host]
	if m == nil {
		m = map[*subscriber]struct{}{}
		b.byHost[sub.host] = m
	}
	m[sub] = struct{}{}
}

// remove drops sub from b; b.mu is held.
func (b *broadcaster) remove(sub *subscriber) {
	if _, ok := b.subs[sub]; !ok {
		return
	}
	delete(b.subs, sub)
	if !sub.indexed {
		delete(b.rest, sub)
		return
	}
	if m := b.byHost[sub.host]; m != nil {
		delete(m, sub)
		if len(m) == 0 {
			delete(b.byHost, sub.host)
		}
	}
}

// publish queues chs for every subscriber they may concern; b.mu is held.
func (b *broadcaster) publish(chs []change) {
	for sub := range b.rest {
		sub.push(chs...)
	}
	if len(b.byHost) == 0 {
		return
	}
	for _, c := range chs {
		hosts, n, ok := changeHosts(c)
		if !ok {
			for _, m := range b.byHost {
				for sub := range m {
					sub.push(c)
				}
			}
			continue
		}
		for _, h := range hosts[:n] {
			for sub := range b.byHost[h] {
				sub.push(c)
			}
		}
	}
}

// subscribe joins the shared watch of res from revision from (changes with
// rev >= from) for a watcher with opts; cur is the store's current revision.
// It reports false when the shared watch cannot serve from (the caller
// watches on its own).
func (s *Store) subscribe(res api.Resource, from, cur int64, opts store.ListOptions) (*broadcaster, *subscriber, bool) {
	s.bcMu.Lock()
	defer s.bcMu.Unlock()
	b := s.bcasts[res]
	sub := &subscriber{opts: opts, wake: make(chan struct{}, 1)}
	sub.host, sub.indexed = indexHost(res, opts)
	if b == nil {
		// Start a shared watch just before from (or at the current revision
		// when from is in the future, so that later joiners are served).
		start := min(from-1, cur)
		ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(context.Background()))
		b = newBroadcaster(s, res, start, cancel)
		b.add(sub)
		s.bcasts[res] = b
		go b.run(ctx, start)
		return b, sub, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if from <= b.start {
		return nil, nil, false
	}
	for _, c := range b.hist {
		if c.rev >= from && sub.concerns(c) {
			sub.queue = append(sub.queue, c)
		}
	}
	b.add(sub)
	return b, sub, true
}

func newBroadcaster(s *Store, res api.Resource, start int64, cancel context.CancelFunc) *broadcaster {
	return &broadcaster{s: s, res: res, start: start, cancel: cancel,
		subs: map[*subscriber]struct{}{}, byHost: map[string]map[*subscriber]struct{}{}, rest: map[*subscriber]struct{}{},
		fresh: map[string][]*written{}}
}

// unsubscribe leaves b; the last one out stops the etcd watch.
func (s *Store) unsubscribe(b *broadcaster, sub *subscriber) {
	s.bcMu.Lock()
	defer s.bcMu.Unlock()
	b.mu.Lock()
	b.remove(sub)
	last := len(b.subs) == 0
	b.mu.Unlock()
	if last && s.bcasts[b.res] == b {
		delete(s.bcasts, b.res)
		b.cancel()
	}
}

// run opens the etcd watch, decodes its events once and hands them to
// every subscriber; when the watch ends, every subscriber's stream ends
// with it. It watches from start+1; ctx ends when the last subscriber
// leaves.
//
// The watch is opened here, not in subscribe under bcMu: while etcd is
// unreachable the client's Watch blocks until its ctx ends (the request
// waits for the client's watch stream, which waits for a connection), and
// only the last subscriber leaving ends ctx; under bcMu it held up every
// subscriber's leaving, every new watch and every write (expect), so
// informers never stopped and the master's shutdown hung.
func (b *broadcaster) run(ctx context.Context, start int64) {
	wch := b.s.cli.Watch(ctx, store.ResourcePrefix(b.res, ""), clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(start+1))
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
			if c, ok := b.decodeChange(e); ok {
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
		b.publish(chs)
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
	b.freshMu.Lock()
	b.dead, b.fresh = true, nil
	b.freshMu.Unlock()
	b.mu.Lock()
	for sub := range b.subs {
		sub.end(failed)
	}
	b.mu.Unlock()
}

// expect hands the shared watch of res, if one runs, the object obj that
// is about to be written under key as data, so that the watch need not
// decode the bytes again; nil when there is no shared watch or no
// canonical copy can be made (canonical.go). A writer whose write fails
// calls abandon. Writes of one key that follow each other faster than the
// watch are all kept, up to maxExpected a key (then the oldest is dropped,
// and the watch decodes its bytes).
func (s *Store) expect(res api.Resource, key string, data []byte, obj api.Object) *written {
	if res == api.Events {
		return nil // not cached
	}
	s.bcMu.Lock()
	b := s.bcasts[res]
	s.bcMu.Unlock()
	if b == nil {
		return nil
	}
	c, ok := canonical(s.intern, obj, 0)
	if !ok {
		return nil
	}
	w := &written{b: b, key: key, data: data, obj: c}
	b.freshMu.Lock()
	defer b.freshMu.Unlock()
	if b.dead {
		return nil
	}
	ws := b.fresh[key]
	if len(ws) >= maxExpected {
		ws = append(ws[:0], ws[1:]...)
	}
	b.fresh[key] = append(ws, w)
	return w
}

// maxExpected bounds the objects expected for one key.
const maxExpected = 8

// dropWritten removes w from ws (b.freshMu held) and returns the rest.
func dropWritten(ws []*written, w *written) []*written {
	for i, x := range ws {
		if x == w {
			return append(ws[:i:i], ws[i+1:]...)
		}
	}
	return ws
}

// abandon takes back what a write that failed expected (nil: nothing).
func (w *written) abandon() {
	if w == nil {
		return
	}
	w.b.freshMu.Lock()
	defer w.b.freshMu.Unlock()
	w.b.setFresh(w.key, dropWritten(w.b.fresh[w.key], w))
}

// setFresh stores what key expects (b.freshMu held).
func (b *broadcaster) setFresh(key string, ws []*written) {
	if b.fresh == nil {
		return // the watch has ended
	}
	if len(ws) == 0 {
		delete(b.fresh, key)
		return
	}
	b.fresh[key] = ws
}

// takeFresh returns the object expected for a put of key with value at rev,
// if any: the decode of value, with resourceVersion rev.
func (b *broadcaster) takeFresh(key, value []byte, rev int64) api.Object {
	b.freshMu.Lock()
	defer b.freshMu.Unlock()
	ws := b.fresh[string(key)]
	for _, w := range ws {
		if bytes.Equal(w.data, value) {
			b.setFresh(w.key, dropWritten(ws, w))
			w.obj.Meta().ResourceVersion = uint64(rev) // no one else holds it yet
			return w.obj
		}
	}
	return nil
}

// decodeChange decodes an etcd event once for every watcher. A value that
// does not decode is as if absent (undecodable.go): a put of one over a
// good value is a delete of the good one; false when neither side decodes.
func (b *broadcaster) decodeChange(e *clientv3.Event) (change, bool) {
	s, res := b.s, b.res
	c := change{rev: e.Kv.ModRevision}
	if e.PrevKv != nil {
		// Usually cached: decoded when it was the current value.
		c.prev = s.decodeShared(res, e.PrevKv)
	}
	if e.Type == clientv3.EventTypePut {
		fresh := b.takeFresh(e.Kv.Key, e.Kv.Value, c.rev)
		if o, ok := s.cached(res, e.Kv.Key, c.rev); ok {
			c.cur = o // a list read it first
		} else if fresh != nil {
			s.remember(res, string(e.Kv.Key), c.rev, fresh)
			c.cur = fresh
		} else {
			c.cur = s.decodeShared(res, e.Kv)
		}
	} else {
		s.uncache(res, string(e.Kv.Key), c.rev)
	}
	if c.cur == nil && c.prev != nil {
		// A delete, as watchers see it: the last state at the delete's
		// revision (a copy: the decoded object is shared).
		c.prev = shallowCopy(c.prev)
		c.prev.Meta().ResourceVersion = uint64(c.rev)
	}
	switch {
	case c.cur != nil:
		c.key = api.Key(c.cur)
	case c.prev != nil:
		c.key = api.Key(c.prev)
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
				ev.Key = c.key
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
