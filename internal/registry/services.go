package registry

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// loadPortals returns the allocator, building it from the stored services
// the first time. The caller must not hold portalMu.
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
	for _, o := range svcs {
		s := o.(*api.Service)
		if s.PortalIP == "" {
			continue
		}
		if err := p.AllocateSpecific(net.ParseIP(s.PortalIP)); err != nil {
			r.log.WithField("service", api.Key(s)).Warnf("stored portal IP not reserved: %v", err)
		}
	}
	r.log.WithField("allocated", p.Used()).Debug("portal IPs loaded from stored services")
	r.portals = p
	return p, nil
}

func (r *Registry) releasePortal(ip string) {
	if ip == "" {
		return
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
	if s.PortalIP != "" {
		err = p.AllocateSpecific(net.ParseIP(s.PortalIP))
		r.portalMu.Unlock()
		if err != nil {
			return nil, api.NewInvalid("Service", s.ID, []api.StatusCause{{Reason: api.CauseInvalid, Field: "portalIP", Message: err.Error()}})
		}
	} else {
		ip, err := p.Allocate()
		r.portalMu.Unlock()
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
		r.releasePortal(s.PortalIP)
		return nil, err
	}
	return out, nil
}
