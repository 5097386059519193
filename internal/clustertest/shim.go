package clustertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/fit"
	"kubelite/internal/store"
)

// Shim is a store.Store adding names, uids and bindings to a raw store.
type Shim struct {
	store.Store
	// SkipFitCheck makes bindings skip the fit.Check re-check.
	SkipFitCheck bool
	seq          atomic.Uint64
	// Binds counts successful bindings.
	Binds atomic.Int64
}

var _ store.Store = (*Shim)(nil)

// NewShim wraps raw.
func NewShim(raw store.Store) *Shim { return &Shim{Store: raw} }

const alnum = "bcdfghjklmnpqrstvwxz2456789"

// Create implements store.Store.
func (s *Shim) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	if b, ok := obj.(*api.Binding); ok {
		return s.bind(ctx, b)
	}
	m := obj.Meta()
	if m.ID == "" && m.GenerateName != "" {
		suffix := make([]byte, 5)
		for i := range suffix {
			suffix[i] = alnum[rand.IntN(len(alnum))]
		}
		m.ID = m.GenerateName + string(suffix)
	}
	if m.UID == "" {
		m.UID = fmt.Sprintf("uid-%d", s.seq.Add(1))
	}
	if m.CreationTimestamp.IsZero() {
		m.CreationTimestamp = time.Now()
	}
	api.SetKind(obj)
	return s.Store.Create(ctx, obj)
}

func (s *Shim) bind(ctx context.Context, b *api.Binding) (api.Object, error) {
	ns := b.Namespace
	for attempt := 0; ; attempt++ {
		obj, err := s.Store.Get(ctx, api.Pods, ns, b.PodID)
		if err != nil {
			return nil, err
		}
		p := obj.(*api.Pod)
		if p.DesiredState.Host != "" {
			return nil, api.NewConflict("Binding", b.PodID, "pod is already bound to "+p.DesiredState.Host)
		}
		if !s.SkipFitCheck {
			mobj, err := s.Store.Get(ctx, api.Minions, "", b.Host)
			if err != nil {
				return nil, api.NewConflict("Binding", b.PodID, "minion "+b.Host+" does not exist")
			}
			sel, _ := api.ParseSelector(api.FieldDesiredStateHost + "=" + b.Host)
			objs, _, err := s.Store.List(ctx, api.Pods, store.ListOptions{Fields: sel})
			if err != nil {
				return nil, err
			}
			pods := make([]*api.Pod, len(objs))
			for i, o := range objs {
				pods[i] = o.(*api.Pod)
			}
			if r := fit.Check(p, mobj.(*api.Minion), pods); len(r) > 0 {
				return nil, api.NewConflict("Binding", b.PodID, fmt.Sprintf("pod does not fit on %s: %v", b.Host, r))
			}
		}
		p.DesiredState.Host = b.Host
		if _, err := s.Store.Update(ctx, p); err != nil {
			if api.IsConflict(err) && attempt < 10 {
				continue
			}
			return nil, err
		}
		s.Binds.Add(1)
		return b, nil
	}
}
