package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// loadPortals returns the allocator, building it the first time from the
// shared claims, after claiming the address of every stored service. The
// caller must not hold portalMu.
func (r *Registry) loadPortals(ctx context.Context) (*portals, error) {
	r.portalMu.Lock()
	defer r.portalMu.Unlock()
	return r.loadPortalsLocked(ctx)
}

func (r *Registry) loadPortalsLocked(ctx context.Context) (*portals, error) {
	if r.portals != nil {
		return r.portals, nil
	}
	p, err := newPortals(r.portalNet, r.portalRand)
	if err != nil {
		return nil, err
	}
	svcs, _, err := r.raw.List(ctx, api.Services, store.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services for portal IPs: %w", err)
	}
	if err := r.migrateClaims(ctx, p, svcs); err != nil {
		return nil, err
	}
	r.log.WithField("allocated", p.Used()).Debug("portal IPs loaded from the claims")
	r.portals = p
	return p, nil
}

// releasePortal frees ip, held by owner, in the claims and in this
// registry's view. A failed release leaves a leaked claim that
// repairPortals frees later.
func (r *Registry) releasePortal(ctx context.Context, ip, owner string) {
	if ip == "" {
		return
	}
	if err := r.claims.Release(ctx, ip, owner); err != nil {
		r.log.WithError(err).WithField("service", owner).Warn("release portal IP (the repair frees it later)")
	}
	r.portalMu.Lock()
	defer r.portalMu.Unlock()
	if r.portals != nil {
		r.portals.Release(net.ParseIP(ip))
	}
}

func (r *Registry) createService(ctx context.Context, s *api.Service) (api.Object, error) {
	r.portalMu.Lock()
	p, err := r.loadPortalsLocked(ctx)
	if err != nil {
		r.portalMu.Unlock()
		return nil, err
	}
	owner := api.Key(s)
	if s.PortalIP != "" {
		err = r.claimSpecific(ctx, p, net.ParseIP(s.PortalIP), owner)
		r.portalMu.Unlock()
		var se *api.StatusError
		if errors.As(err, &se) {
			return nil, err
		}
		if err != nil {
			return nil, api.NewInvalid("Service", s.ID, []api.StatusCause{{Reason: api.CauseInvalid, Field: "portalIP", Message: err.Error()}})
		}
	} else {
		ip, err := r.claimPortal(ctx, p, owner)
		r.portalMu.Unlock()
		if err != nil && err != errPortalsFull {
			return nil, err
		}
		if err != nil {
			e := api.NewConflict("Service", s.ID, "")
			e.Status.Message = fmt.Sprintf("no portal IP left in %s for service %q: delete a service or widen --portal_net", r.portalNet, s.ID)
			e.Status.Code = http.StatusConflict
			return nil, e
		}
		s.PortalIP = ip.String()
	}
	out, err := r.raw.Create(ctx, s)
	if err != nil {
		r.releasePortal(ctx, s.PortalIP, owner)
		return nil, err
	}
	return out, nil
}
