package clustertest_test

import (
	"context"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/kubelet"
	"kubelite/internal/registry"
	"kubelite/internal/store/memory"
)

// TestHollowMinions runs the control plane with hollow minions (the real
// kubelet on fake runtimes) instead of the simulator: 6 replicas spread 3/3
// and Running; a minion whose kubelet stops loses its pods to the other
// within grace + eviction + 5 s.
func TestHollowMinions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	raw := memory.New()
	reg, err := registry.New(raw, registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, ctx: ctx, raw: raw, reg: reg, grace: time.Second, evict: 2 * time.Second}
	regCtx, stopReg := context.WithCancel(ctx)
	regDone := runComponents(t, regCtx, reg)
	defer func() { stopReg(); <-regDone }()
	fleet, err := kubelet.NewFleet(kubelet.FleetConfig{Store: reg, Count: 2, Prefix: "hollow-",
		SyncFrequency: 200 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond, Events: true})
	if err != nil {
		t.Fatal(err)
	}
	fleetCtx, stopFleet := context.WithCancel(ctx)
	fleetDone := runComponents(t, fleetCtx, fleet)
	defer func() { stopFleet(); <-fleetDone }()
	c.startPlane()
	defer c.stopPlane()

	c.create(nginxRC("nginx", 6, 0))
	c.eventually(10*time.Second, "6 pods Running 3/3 on hollow minions", func() bool {
		r := running(c.pods())
		return r["hollow-0"] == 3 && r["hollow-1"] == 3
	})
	stopped := time.Now()
	fleet.Stop("hollow-0")
	limit := c.grace + c.evict + 5*time.Second
	c.eventually(limit, "all 6 Running on hollow-1", func() bool {
		pods := c.pods()
		return len(pods) == 6 && running(pods)["hollow-1"] == 6
	})
	t.Logf("pods moved %s after hollow-0 stopped (limit %s)", time.Since(stopped).Round(10*time.Millisecond), limit)
	o, _ := c.reg.Get(ctx, api.Minions, "", "hollow-0")
	if cond := o.(*api.Minion).Status.Condition; cond != api.MinionNotReady {
		t.Fatalf("stopped minion is %s, want NotReady", cond)
	}
}
