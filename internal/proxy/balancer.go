package proxy

import (
	"errors"
	"slices"
	"sync"
	"time"

	"kubelite/internal/clock"
)

// errNoEndpoints means a service has no endpoint to send a connection to.
var errNoEndpoints = errors.New("no endpoints")

// balancer picks the endpoint of each new userspace connection: round-robin
// over the service's endpoints (the index restarts when they change), or,
// with ClientIP affinity, the endpoint the client used last unless that was
// longer ago than the affinity timeout. It does no I/O.
type balancer struct {
	mu    sync.Mutex
	clock clock.Clock
	ttl   time.Duration
	svcs  map[string]*lbState
}

type lbState struct {
	endpoints []string
	next      int
	affinity  bool
	sticky    map[string]stickyEntry // client IP -> endpoint
}

type stickyEntry struct {
	endpoint string
	last     time.Time
}

func newBalancer(c clock.Clock, ttl time.Duration) *balancer {
	return &balancer{clock: c, ttl: ttl, svcs: map[string]*lbState{}}
}

// update sets the endpoints of every service and forgets services not in svcs.
func (b *balancer) update(svcs []service) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	keep := map[string]bool{}
	for _, s := range svcs {
		keep[s.Name] = true
		eps := make([]string, len(s.Endpoints))
		for i, e := range s.Endpoints {
			eps[i] = e.String()
		}
		st, ok := b.svcs[s.Name]
		if !ok {
			st = &lbState{sticky: map[string]stickyEntry{}}
			b.svcs[s.Name] = st
		}
		if !slices.Equal(st.endpoints, eps) {
			st.endpoints, st.next = eps, 0
		}
		st.affinity = s.Affinity
		for ip, e := range st.sticky {
			if !st.affinity || !slices.Contains(eps, e.endpoint) || now.Sub(e.last) > b.ttl {
				delete(st.sticky, ip)
			}
		}
	}
	for name := range b.svcs {
		if !keep[name] {
			delete(b.svcs, name)
		}
	}
}

// next returns the endpoint for a new connection of client to svc.
func (b *balancer) next(svc, client string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.svcs[svc]
	if !ok || len(st.endpoints) == 0 {
		return "", errNoEndpoints
	}
	now := b.clock.Now()
	if st.affinity && client != "" {
		if e, ok := st.sticky[client]; ok && now.Sub(e.last) <= b.ttl {
			st.sticky[client] = stickyEntry{e.endpoint, now}
			return e.endpoint, nil
		}
	}
	ep := st.endpoints[st.next%len(st.endpoints)]
	st.next = (st.next + 1) % len(st.endpoints)
	if st.affinity && client != "" {
		st.sticky[client] = stickyEntry{ep, now}
	}
	return ep, nil
}

// failed tells the balancer that a dial of client to ep failed, so the
// client is no longer stuck to it.
func (b *balancer) failed(svc, client, ep string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st, ok := b.svcs[svc]; ok {
		if e, ok := st.sticky[client]; ok && e.endpoint == ep {
			delete(st.sticky, client)
		}
	}
}

// count returns how many endpoints svc has.
func (b *balancer) count(svc string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if st, ok := b.svcs[svc]; ok {
		return len(st.endpoints)
	}
	return 0
}
