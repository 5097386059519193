package workqueue

import (
	"context"
	"sync"
	"time"

	"kubelite/internal/clock"
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
}

// New returns a queue with backoff from base doubling to max.
func New(c clock.Clock, base, max time.Duration) *Queue {
	if c == nil {
		c = clock.Real{}
	}
	q := &Queue{clock: c, base: base, max: max, dirty: map[string]bool{}, processing: map[string]bool{}, failures: map[string]int{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues key unless it is already queued.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shutdown || q.dirty[key] {
		return
	}
	q.dirty[key] = true
	if q.processing[key] {
		return // requeued by Done
	}
	q.queue = append(q.queue, key)
	q.cond.Signal()
}

// AddAfter queues key once d has passed on the queue's clock.
func (q *Queue) AddAfter(key string, d time.Duration) {
	if d <= 0 {
		q.Add(key)
		return
	}
	ch := q.clock.After(d)
	go func() {
		<-ch
		q.Add(key)
	}()
}

// AddRateLimited requeues key after its backoff and counts a failure.
func (q *Queue) AddRateLimited(key string) {
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
		q.cond.Signal()
	}
}

// Len returns how many keys wait.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queue)
}

// ShutDown makes Get return false once the queue drains of waiting callers.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	q.shutdown = true
	q.queue = nil
	q.cond.Broadcast()
	q.mu.Unlock()
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
