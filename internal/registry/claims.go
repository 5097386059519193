package registry

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// PortalClaims records which portal IPs are taken, in storage every master
// shares, by compare-and-swap: two masters claiming one address at once
// never both get it. internal/etcd.Claims is the real one; a Registry
// without one keeps its claims in memory (one registry only: tests).
type PortalClaims interface {
	// Claim takes ip for owner (the service's "namespace/id") if nobody
	// holds it. It reports false when ip is held already, by anyone (owner
	// too: a second service of one name must not share the first's claim).
	Claim(ctx context.Context, ip, owner string) (bool, error)
	// Release frees ip if owner holds it, and does nothing otherwise.
	Release(ctx context.Context, ip, owner string) error
	// List returns every claim: ip -> owner.
	List(ctx context.Context) (map[string]string, error)
}

// DefaultPortalRepairInterval is how often a Registry looks for leaked
// portal IP claims.
const DefaultPortalRepairInterval = time.Minute

// memClaims is PortalClaims in memory.
type memClaims struct {
	mu sync.Mutex
	m  map[string]string
}

func newMemClaims() *memClaims { return &memClaims{m: map[string]string{}} }

func (c *memClaims) Claim(_ context.Context, ip, owner string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[ip]; ok {
		return false, nil
	}
	c.m[ip] = owner
	return true, nil
}

func (c *memClaims) Release(_ context.Context, ip, owner string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[ip] == owner {
		delete(c.m, ip)
	}
	return nil
}

func (c *memClaims) List(context.Context) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out, nil
}

// claimPortal allocates a portal IP for owner: a random address this
// registry does not know to be taken, claimed in the shared claims; an
// address another master claimed first is marked taken and another is
// tried. When every address looks taken, the view is reloaded from the
// claims once (other masters release addresses too). The caller holds
// portalMu.
func (r *Registry) claimPortal(ctx context.Context, p *portals, owner string) (net.IP, error) {
	reloaded := false
	for {
		ip, err := p.Allocate()
		if err == errPortalsFull {
			if reloaded {
				return nil, err
			}
			reloaded = true
			if err := r.reloadClaims(ctx, p); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		ok, err := r.claims.Claim(ctx, ip.String(), owner)
		if err != nil {
			p.Release(ip)
			return nil, err
		}
		if ok {
			return ip, nil
		}
		// Another master took it: it stays marked in p.
	}
}

// claimSpecific claims the requested ip for owner (422 when it is not a
// usable address or another service holds it). The caller holds portalMu.
func (r *Registry) claimSpecific(ctx context.Context, p *portals, ip net.IP, owner string) error {
	if _, ok := p.offset(ip); !ok {
		return fmt.Errorf("%s is not a usable address of the portal network %s", ip, p.cidr)
	}
	ok, err := r.claims.Claim(ctx, ip.String(), owner)
	if err != nil {
		return err
	}
	if !ok {
		_ = p.AllocateSpecific(ip) // known taken from now on
		return fmt.Errorf("%s is already allocated to another service", ip)
	}
	_ = p.AllocateSpecific(ip) // an error only says this registry knew it already
	return nil
}

// reloadClaims rebuilds p's view from the shared claims.
func (r *Registry) reloadClaims(ctx context.Context, p *portals) error {
	claims, err := r.claims.List(ctx)
	if err != nil {
		return fmt.Errorf("list portal IP claims: %w", err)
	}
	p.used = map[uint32]bool{}
	for ip := range claims {
		if off, ok := p.offset(net.ParseIP(ip)); ok {
			p.used[off] = true
		}
	}
	return nil
}

// migrateClaims claims the address of every stored service (services
// created before claims existed, or whose claim was lost), then loads p's
// view from the claims.
func (r *Registry) migrateClaims(ctx context.Context, p *portals, svcs []api.Object) error {
	claims, err := r.claims.List(ctx)
	if err != nil {
		return fmt.Errorf("list portal IP claims: %w", err)
	}
	for _, o := range svcs {
		s := o.(*api.Service)
		if s.PortalIP == "" || claims[s.PortalIP] == api.Key(s) {
			continue
		}
		ok, err := r.claims.Claim(ctx, s.PortalIP, api.Key(s))
		if err != nil {
			return fmt.Errorf("claim portal IP of %s: %w", api.Key(s), err)
		}
		if !ok {
			r.log.WithField("service", api.Key(s)).Warnf("stored portal IP %s is claimed by another service", s.PortalIP)
		}
	}
	return r.reloadClaims(ctx, p)
}

// repairPortals releases leaked claims: a claim whose owner service does
// not exist with that address (a master stopped between claiming an
// address and storing its service, or a release failed). A claim is
// released only when it was already orphaned at the previous pass, with the
// same owner, so a create in flight (claimed, not yet stored) is never
// robbed. It returns how many claims it released.
func (r *Registry) repairPortals(ctx context.Context) (int, error) {
	claims, err := r.claims.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("list portal IP claims: %w", err)
	}
	// Services are listed after the claims: a claim listed above whose
	// service is stored by now is seen with it.
	svcs, _, err := r.raw.List(ctx, api.Services, store.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("list services: %w", err)
	}
	held := make(map[string]string, len(svcs))
	for _, o := range svcs {
		s := o.(*api.Service)
		if s.PortalIP != "" {
			held[s.PortalIP] = api.Key(s)
		}
	}
	orphans := map[string]string{}
	released := 0
	for ip, owner := range claims {
		if held[ip] == owner {
			continue
		}
		if r.suspects[ip] != owner {
			orphans[ip] = owner
			continue
		}
		if err := r.claims.Release(ctx, ip, owner); err != nil {
			return released, err
		}
		released++
		r.log.WithFields(map[string]any{"ip": ip, "owner": owner}).Info("released a leaked portal IP claim")
		r.portalMu.Lock()
		if r.portals != nil {
			r.portals.Release(net.ParseIP(ip))
		}
		r.portalMu.Unlock()
	}
	r.suspects = orphans
	return released, nil
}

// runPortalRepair repairs the claims every repair interval until ctx ends.
func (r *Registry) runPortalRepair(ctx context.Context) {
	t := r.clock.NewTimer(r.repairEvery)
	defer func() { t.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		if _, err := r.repairPortals(ctx); err != nil && ctx.Err() == nil {
			r.log.WithError(err).Warn("repair portal IP claims")
		}
		t = r.clock.NewTimer(r.repairEvery)
	}
}
