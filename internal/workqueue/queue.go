package workqueue

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"kubelite/internal/clock"
	"kubelite/internal/metrics"
)

// Queue is a deduplicating work queue with per-key backoff.
type Queue struct {
	clock clock.Clock
	base  time.Duration
	max   time.Duration

	mu         sync.Mutex
	cond       *sync.Cond
	queue      []string
	dirty      map[string]bool // queued, or to be requeued after Done
	processing map[string]bool
	failures   map[string]int
	shutdown   bool

	// depth and retries are the queue's metrics once Named; nil before.
	depth   *metrics.GaugeDelta
	retries prometheus.Counter

	// Delayed keys wait in a heap (earliest first) served by one goroutine,
	// started by the first AddAfter and stopped by ShutDown.
	waiting  delayHeap
	waitIdx  map[string]*delayed
	wake     chan struct{} // buffered 1: the heap's head changed
	stop     chan struct{} // closed by ShutDown
	loopDone chan struct{} // closed when the waiting goroutine returns; nil until it starts
}

type delayed struct {
	key   string
	at    time.Time
	index int
}

// delayHeap is a min-heap of delayed keys by ready time.
type delayHeap []*delayed

func (h delayHeap) Len() int           { return len(h) }
func (h delayHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h delayHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *delayHeap) Push(x any) {
	d := x.(*delayed)
	d.index = len(*h)
	*h = append(*h, d)
}
func (h *delayHeap) Pop() any {
	old := *h
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return d
}

// New returns a queue with backoff from base doubling to max.
func New(c clock.Clock, base, max time.Duration) *Queue {
	if c == nil {
		c = clock.Real{}
	}
	q := &Queue{clock: c, base: base, max: max, dirty: map[string]bool{}, processing: map[string]bool{}, failures: map[string]int{},
		waitIdx: map[string]*delayed{}, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Named makes the queue report workqueue_depth{name} and
// workqueue_retries_total{name}; queues of one name in a process sum. Call
// it before the queue is used; it returns q.
func (q *Queue) Named(name string) *Queue {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.depth = metrics.NewGaugeDelta(metrics.WorkqueueDepth.WithLabelValues(name))
	q.retries = metrics.WorkqueueRetries.WithLabelValues(name)
	q.depth.Set(float64(len(q.queue)))
	return q
}

// lenChangedLocked reports the queue's length to its depth gauge.
func (q *Queue) lenChangedLocked() {
	if q.depth != nil {
		q.depth.Set(float64(len(q.queue)))
	}
}

// Add queues key unless it is already queued.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *Queue) addLocked(key string) {
	if q.shutdown || q.dirty[key] {
		return
	}
	q.dirty[key] = true
	if q.processing[key] {
		return // requeued by Done
	}
	q.queue = append(q.queue, key)
	q.lenChangedLocked()
	q.cond.Signal()
}

// AddAfter queues key once d has passed on the queue's clock. A key already
// waiting keeps the earlier of its two ready times. One goroutine serves
// every delayed key; ShutDown stops it and drops the keys still waiting.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	q.AddAt(key, q.clock.Now().Add(d))
}

// AddAt queues key once the queue's clock reaches at (at once if it has).
// A caller that decided on a time read earlier (a check due at a deadline)
// passes the deadline itself: as a delay from that reading, the time its
// decision took would be added to it, a whole step of a fake clock that a
// test moved meanwhile.
func (q *Queue) AddAt(key string, at time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown {
		return
	}
	if !at.After(q.clock.Now()) {
		q.addLocked(key)
		return
	}
	if w, ok := q.waitIdx[key]; ok {
		if !at.Before(w.at) {
			return
		}
		w.at = at
		heap.Fix(&q.waiting, w.index)
	} else {
		w = &delayed{key: key, at: at}
		heap.Push(&q.waiting, w)
		q.waitIdx[key] = w
	}
	if q.loopDone == nil {
		q.loopDone = make(chan struct{})
		go q.waitLoop()
	}
	if q.waiting[0].key == key { // a new head: re-arm the timer
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// waitLoop moves delayed keys whose time has come into the queue, sleeping
// on one timer set for the earliest of them, until ShutDown.
func (q *Queue) waitLoop() {
	defer close(q.loopDone)
	for {
		q.mu.Lock()
		now := q.clock.Now()
		for len(q.waiting) > 0 && !q.waiting[0].at.After(now) {
			w := heap.Pop(&q.waiting).(*delayed)
			delete(q.waitIdx, w.key)
			q.addLocked(w.key)
		}
		var timer clock.Timer
		var fired <-chan time.Time
		if len(q.waiting) > 0 {
			timer = q.clock.NewTimerAt(q.waiting[0].at)
			fired = timer.C()
		}
		q.mu.Unlock()
		select {
		case <-fired:
		case <-q.wake:
		case <-q.stop:
		}
		if timer != nil {
			timer.Stop()
		}
		select {
		case <-q.stop:
			return
		default:
		}
	}
}

// Waiting returns how many keys wait for their AddAfter delay to pass.
func (q *Queue) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting)
}

// AddRateLimited requeues key after its backoff and counts a failure.
func (q *Queue) AddRateLimited(key string) {
	if q.retries != nil {
		q.retries.Inc()
	}
	q.AddAfter(key, q.When(key))
}

// When counts a failure of key and returns its backoff.
func (q *Queue) When(key string) time.Duration {
	q.mu.Lock()
	n := q.failures[key]
	q.failures[key] = n + 1
	q.mu.Unlock()
	d := q.base
	for i := 0; i < n && d < q.max; i++ {
		d *= 2
	}
	if d > q.max {
		d = q.max
	}
	return d
}

// Failures returns how many times key failed since it was last forgotten.
func (q *Queue) Failures(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failures[key]
}

// Forget resets key's backoff.
func (q *Queue) Forget(key string) {
	q.mu.Lock()
	delete(q.failures, key)
	q.mu.Unlock()
}

// Get blocks for the next key; ok is false once the queue is shut down.
func (q *Queue) Get() (key string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.queue) == 0 && !q.shutdown {
		q.cond.Wait()
	}
	if len(q.queue) == 0 {
		return "", false
	}
	key = q.queue[0]
	q.queue = q.queue[1:]
	q.lenChangedLocked()
	q.processing[key] = true
	delete(q.dirty, key)
	return key, true
}

// Done marks key processed; if it was added meanwhile it is queued again.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if q.dirty[key] && !q.shutdown {
		q.queue = append(q.queue, key)
		q.lenChangedLocked()
		q.cond.Signal()
	}
}

// Len returns how many keys wait.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// ShutDown makes Get return false once the queue drains of waiting callers,
// drops the keys waiting for a delay, and returns once the goroutine that
// served them has stopped. Calling it again does nothing.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	if q.shutdown {
		q.mu.Unlock()
		return
	}
	q.shutdown = true
	q.queue = nil
	q.lenChangedLocked()
	q.waiting, q.waitIdx = nil, map[string]*delayed{}
	close(q.stop)
	q.cond.Broadcast()
	done := q.loopDone
	q.mu.Unlock()
	if done != nil {
		<-done
	}
}

// Run starts n workers calling sync for each key until ctx ends. A sync
// error requeues the key with backoff; success forgets its backoff.
func (q *Queue) Run(ctx context.Context, n int, syncFn func(ctx context.Context, key string) error) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				key, ok := q.Get()
				if !ok {
					return
				}
				if err := syncFn(ctx, key); err != nil && ctx.Err() == nil {
					q.AddRateLimited(key)
				} else {
					q.Forget(key)
				}
				q.Done(key)
			}
		}()
	}
	<-ctx.Done()
	q.ShutDown()
	wg.Wait()
}
