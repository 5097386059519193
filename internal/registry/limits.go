package registry

import (
	"context"
	"fmt"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// Limits that keep one client from exhausting the cluster: an upper bound
// on a replication controller's replicas (422 naming the field), and on the
// objects of one kind in one namespace (403 on create).

const (
	// DefaultMaxReplicas bounds desiredState.replicas of a replication controller.
	DefaultMaxReplicas = 10000
	// DefaultMaxObjectsPerNamespace bounds the objects of one kind in one
	// namespace (minions: in the cluster).
	DefaultMaxObjectsPerNamespace = 50000
	// countTTL is how long a namespace's count is trusted (plus the creates
	// made through this registry since) before it is read again.
	countTTL = 10 * time.Second
	// nearTTL is countTTL within 10% of the limit: there other masters'
	// creates (which this count does not see) may overshoot the limit by
	// what they create in nearTTL.
	nearTTL = time.Second
)

// counter is a store that counts without listing (store/etcd does).
type counter interface {
	Count(ctx context.Context, res api.Resource, namespace string) (int, error)
}

type countKey struct {
	res api.Resource
	ns  string
}

type countEntry struct {
	n  int // counted at, plus creates since
	at time.Time
}

type objectCounts struct {
	mu sync.Mutex
	m  map[countKey]countEntry
	// reading holds a channel per key being counted, closed when the
	// count is in: creates that find the count stale while another reads
	// it wait for that read instead of each listing the namespace.
	reading map[countKey]chan struct{}
}

// checkReplicas appends a cause when obj is a replication controller asking
// for more replicas than the limit.
func (r *Registry) checkReplicas(obj api.Object, causes []api.StatusCause) []api.StatusCause {
	rc, ok := obj.(*api.ReplicationController)
	if !ok || rc.DesiredState.Replicas <= r.maxReplicas {
		return causes
	}
	return append(causes, api.StatusCause{Reason: api.CauseInvalid, Field: "desiredState.replicas",
		Message: fmt.Sprintf("%d is more than the %d replicas a replication controller may ask for", rc.DesiredState.Replicas, r.maxReplicas)})
}

// countTrusted reports whether a count known (read, plus the creates since)
// may admit one more create without reading it again: for countTTL far
// from the limit, for nearTTL within 10% of it, and never at the limit
// (deletes, which it does not see, may have made room).
func countTrusted(e countEntry, now time.Time, limit int) bool {
	age := now.Sub(e.at)
	switch {
	case e.n >= limit:
		return false
	case e.n < limit-limit/10:
		return age < countTTL
	default:
		return age < nearTTL
	}
}

// checkCount refuses a create in a namespace that already holds the most
// objects of res allowed. The count is read from the store when the one
// known is no longer trusted (countTrusted), so a create costs no read but
// once every 10 s, every second within 10% of the limit (a read per create
// there counted 45,000 keys for every create, one create at a time), and
// at the limit; one read at a time per namespace and kind (concurrent
// creates that find the count stale wait for it: a burst of 500 creates at
// the 10 s mark made 500 reads of the whole namespace).
func (r *Registry) checkCount(ctx context.Context, res api.Resource, ns string) error {
	limit := r.maxObjects
	k := countKey{res, ns}
	for {
		now := r.clock.Now()
		r.counts.mu.Lock()
		if e, ok := r.counts.m[k]; ok && countTrusted(e, now, limit) {
			e.n++
			r.counts.m[k] = e
			r.counts.mu.Unlock()
			return nil
		}
		if wait, busy := r.counts.reading[k]; busy {
			r.counts.mu.Unlock()
			select {
			case <-wait: // counted: look again
				continue
			case <-ctx.Done():
				return fmt.Errorf("count %s in %s: %w", res, ns, context.Cause(ctx))
			}
		}
		done := make(chan struct{})
		if r.counts.reading == nil {
			r.counts.reading = map[countKey]chan struct{}{}
		}
		r.counts.reading[k] = done
		r.counts.mu.Unlock()

		n, err := r.count(ctx, res, ns)

		r.counts.mu.Lock()
		delete(r.counts.reading, k)
		close(done)
		if err == nil {
			r.counts.m[k] = countEntry{n: n + 1, at: now}
		}
		r.counts.mu.Unlock()
		if err != nil {
			return err
		}
		if n >= limit {
			return api.NewTooManyObjects(res.Kind(), ns, limit)
		}
		return nil
	}
}

func (r *Registry) count(ctx context.Context, res api.Resource, ns string) (int, error) {
	if c, ok := r.raw.(counter); ok {
		return c.Count(ctx, res, ns)
	}
	objs, _, err := r.raw.List(ctx, res, store.ListOptions{Namespace: ns})
	if err != nil {
		return 0, err
	}
	return len(objs), nil
}
