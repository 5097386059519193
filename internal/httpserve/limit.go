package httpserve

import (
	"context"
	"math"
	"sync"
	"time"
)

// The limits below are pure: no I/O, time passed in. The listener and the
// handler apply them.

// slots is a cap on a count (connections, requests in flight).
type slots struct {
	mu  sync.Mutex
	max int
	n   int
}

// take counts one more and reports true if that stays within max.
func (s *slots) take() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n >= s.max {
		return false
	}
	s.n++
	return true
}

func (s *slots) release() {
	s.mu.Lock()
	s.n--
	s.mu.Unlock()
}

func (s *slots) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// semaphore is a cap on a count whose take can wait for a release.
type semaphore chan struct{}

// take counts one more if that stays within the cap.
func (s semaphore) take() bool {
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

// takeWithin is take, waiting for a release until expired fires or ctx
// ends.
func (s semaphore) takeWithin(ctx context.Context, expired <-chan time.Time) bool {
	select {
	case s <- struct{}{}:
		return true
	case <-expired:
		return false
	case <-ctx.Done():
		return false
	}
}

func (s semaphore) release() { <-s }

func (s semaphore) count() int { return len(s) }

// keyedSlots is a cap on a count per key; a key at zero takes no memory.
type keyedSlots struct {
	mu  sync.Mutex
	max int
	n   map[string]int
}

func newKeyedSlots(max int) *keyedSlots { return &keyedSlots{max: max, n: map[string]int{}} }

func (k *keyedSlots) take(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n[key] >= k.max {
		return false
	}
	k.n[key]++
	return true
}

func (k *keyedSlots) release(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n[key] <= 1 {
		delete(k.n, key)
		return
	}
	k.n[key]--
}

// buckets are token buckets, one per key: rate tokens a second, holding at
// most burst. A key whose bucket has refilled is forgotten (a full bucket
// and no bucket are the same), so memory follows the clients active in the
// last burst/rate seconds.
type buckets struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	m       map[string]*bucket
	sweepAt int // sweep full buckets when the map grows to this size
}

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
}

const minSweep = 1024

// newBuckets returns buckets of rate per second with burst 2*rate (at least 1).
func newBuckets(rate float64) *buckets {
	burst := math.Max(1, 2*rate)
	return &buckets{rate: rate, burst: burst, m: map[string]*bucket{}, sweepAt: minSweep}
}

// take spends one token of key's bucket at now. When it has none it
// reports false and how long until one is back.
func (b *buckets) take(key string, now time.Time) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk, ok := b.m[key]
	if !ok {
		if len(b.m) >= b.sweepAt {
			b.sweep(now)
		}
		bk = &bucket{tokens: b.burst, at: now}
		b.m[key] = bk
	}
	b.refill(bk, now)
	if bk.tokens >= 1 {
		bk.tokens--
		return true, 0
	}
	wait := time.Duration((1 - bk.tokens) / b.rate * float64(time.Second))
	return false, wait
}

func (b *buckets) refill(bk *bucket, now time.Time) {
	if el := now.Sub(bk.at); el > 0 {
		bk.tokens = math.Min(b.burst, bk.tokens+el.Seconds()*b.rate)
		bk.at = now
	}
}

// sweep forgets full buckets; if most are not full, it waits for twice as
// many keys before sweeping again, so a sweep costs O(1) per take.
func (b *buckets) sweep(now time.Time) {
	for k, bk := range b.m {
		b.refill(bk, now)
		if bk.tokens >= b.burst {
			delete(b.m, k)
		}
	}
	b.sweepAt = max(minSweep, 2*len(b.m))
}

func (b *buckets) size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

// retryAfter is the Retry-After value for a wait: whole seconds, rounded
// up, at least 1.
func retryAfter(wait time.Duration) int {
	s := int(math.Ceil(wait.Seconds()))
	if s < 1 {
		return 1
	}
	return s
}

// watchJitter is the share of WatchTimeout a long-running request's
// deadline may move either way.
const watchJitter = 0.1

// jittered spreads base over [base*(1-watchJitter), base*(1+watchJitter)]
// by r in [0, 1).
func jittered(base time.Duration, r float64) time.Duration {
	f := 1 - watchJitter + 2*watchJitter*r
	return time.Duration(float64(base) * f)
}
