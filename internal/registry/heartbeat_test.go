package registry_test

import (
	"context"
	"testing"
	"time"

	"kubelite/internal/registry"
	"kubelite/internal/store/memory"
)

// refusalsRecorder is a Heartbeater that wants to hear of refused
// heartbeats (store.HeartbeatRefusals).
type refusalsRecorder struct{ refused []time.Time }

func (r *refusalsRecorder) Heartbeat(context.Context, string) error { return nil }
func (r *refusalsRecorder) HeartbeatRefused(at time.Time)           { r.refused = append(r.refused, at) }

// TestHeartbeatRefusedReachesLeases: the API tells the registry of a
// heartbeat its listener refused; the registry passes it on to its
// Heartbeats (the master's leases), and a registry without any, or with
// Heartbeats that do not want to know, takes it quietly.
func TestHeartbeatRefusedReachesLeases(t *testing.T) {
	rec := &refusalsRecorder{}
	r, err := registry.New(memory.New(), registry.Config{Heartbeats: rec})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC)
	r.HeartbeatRefused(at)
	if len(rec.refused) != 1 || !rec.refused[0].Equal(at) {
		t.Fatalf("leases heard of refusals %v, want [%v]", rec.refused, at)
	}
	none, err := registry.New(memory.New(), registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	none.HeartbeatRefused(at) // no Heartbeats: nothing to tell, no panic
}
