package registry

import (
	"context"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

var (
	_ store.Heartbeater       = (*Registry)(nil)
	_ store.HeartbeatRefusals = (*Registry)(nil)
)

// HeartbeatRefused implements store.HeartbeatRefusals: it tells
// Config.Heartbeats, if they want to know.
func (r *Registry) HeartbeatRefused(at time.Time) {
	if hr, ok := r.heartbeats.(store.HeartbeatRefusals); ok {
		hr.HeartbeatRefused(at)
	}
}

// Heartbeat implements store.Heartbeater through Config.Heartbeats, for a
// registered minion only: one this registry's minion cache does not hold
// fails with NotFound (a kubelet then writes its minion, registering it
// again if it was deleted). Before the cache is loaded every name passes.
// Bounded as every write is (bounded.do).
func (r *Registry) Heartbeat(ctx context.Context, name string) error {
	if r.heartbeats == nil {
		return store.ErrNoHeartbeats
	}
	select {
	case <-r.synced:
		if _, ok := r.minions.Get(name); !ok {
			return api.NewNotFound(api.Minions.Kind(), name)
		}
	default:
	}
	// The registry's bound on store calls: a store that does not answer in
	// time is a 503 naming the cause, as for every write.
	return r.bound.do(ctx, "heartbeat of minion "+name, func(ctx context.Context) error {
		return r.heartbeats.Heartbeat(ctx, name)
	})
}
