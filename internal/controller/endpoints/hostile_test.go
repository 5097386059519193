package endpoints

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// Issue 17 item 6: anyone who can write a pod's status could put an
// unscheduled pod with a forged podIP into a service's endpoints. Only pods
// bound to a Ready minion count.

func TestHostileForgedPodIP(t *testing.T) {
	s := svc("s", api.NewIntOrStringFromInt(80))
	ready := func(h string) bool { return h == "good" }
	mk := func(id, ip, host string) *api.Pod {
		p := pod(id, ip, api.PodPhaseRunning, web)
		p.DesiredState.Host = host
		return p
	}
	got := Compute(s, []*api.Pod{
		mk("unbound", "10.0.0.66", ""),     // status forged, never scheduled
		mk("deadhost", "10.0.0.67", "bad"), // bound to a minion that is not Ready
		mk("ghost", "10.0.0.68", "nosuch"), // bound to a minion that does not exist
		mk("real", "10.0.0.5", "good"),
	}, ready)
	if want := []string{"10.0.0.5:80"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Compute = %q, want %q", got, want)
	}
}

// TestHostileMinionNotReady runs the controller: a pod's endpoint leaves
// when its minion turns NotReady and comes back when it is Ready again.
func TestHostileMinionNotReady(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := memory.New()
	for _, o := range []api.Object{svc("web", api.NewIntOrStringFromInt(80)), readyMinion(),
		pod("a", "10.0.0.1", api.PodPhaseRunning, web), func() *api.Pod {
			p := pod("forged", "10.0.0.66", api.PodPhaseRunning, web)
			p.DesiredState.Host = ""
			return p
		}()} {
		if _, err := st.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	c := New(Config{Store: st})
	started := make(chan struct{})
	done := make(chan struct{})
	go func() { c.Run(ctx, func() { close(started) }); close(done) }()
	defer func() { cancel(); <-done }()
	<-started
	waitFor := func(what string, want []string) {
		t.Helper()
		testutil.Eventually(t, 10*time.Second, func() error {
			got, _ := endpointsOf(t, st, "web")
			if reflect.DeepEqual(got, want) || (len(got) == 0 && len(want) == 0) {
				return nil
			}
			return fmt.Errorf("endpoints %v, want %v", got, want)
		}, "%s", what)
	}
	setCondition := func(c api.MinionCondition) {
		obj, err := st.Get(ctx, api.Minions, "", "m1")
		if err != nil {
			t.Fatal(err)
		}
		m := obj.(*api.Minion)
		m.Status.Condition = c
		if _, err := st.Update(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("ready minion, forged pod left out", []string{"10.0.0.1:80"})
	setCondition(api.MinionNotReady)
	waitFor("minion not ready", nil)
	setCondition(api.MinionReady)
	waitFor("minion ready again", []string{"10.0.0.1:80"})
}
