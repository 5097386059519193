package kubelet

import (
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// TestDockerStartupLatency measures pod start-up on the real engine with the
// image present: from the pod's creation in the store to Running seen on a
// watch, over 50 pods created one after another (each waited for), then 50
// created at once. It fails when p99 of the sequential run exceeds the
// upstream SLO of 5 s; the figures are logged. Pods are on the pod network
// (bridge mode, as `kubelite minion` runs by default);
// KUBELITE_LATENCY_NETWORK=none measures on the engine's default bridge.
func TestDockerStartupLatency(t *testing.T) {
	var e *env
	var prefix string
	if os.Getenv("KUBELITE_LATENCY_NETWORK") == "none" {
		e, _, prefix = dockerEnv(t, memory.New(), nil)
	} else {
		e, _, prefix, _ = dockerBridgeEnv(t)
	}
	measure := func(name string, n int, burst bool) []time.Duration {
		ch, err := e.st.Watch(e.ctx, api.Pods, store.ListOptions{ResourceVersion: e.st.Revision()})
		if err != nil {
			t.Fatal(err)
		}
		created := map[string]time.Time{}
		var lat []time.Duration
		wait := func(want int) {
			for len(lat) < want {
				select {
				case ev := <-ch:
					p, ok := ev.Object.(*api.Pod)
					if !ok || p.CurrentState.Phase != api.PodPhaseRunning {
						continue
					}
					if c, ok := created[p.ID]; ok {
						lat = append(lat, time.Since(c))
						delete(created, p.ID)
					}
				case <-e.ctx.Done():
					t.Fatalf("%s: %d of %d pods running", name, len(lat), n)
				}
			}
		}
		for i := 0; i < n; i++ {
			p := dockerWebPod(fmt.Sprintf("%s-%s-%d", prefix, name, i), 0)
			p.DesiredState.Manifest.Containers[0].Ports = nil
			created[p.ID] = time.Now()
			e.createPod(p)
			if !burst {
				wait(i + 1)
			}
		}
		wait(n)
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p50, p99 := lat[len(lat)/2], lat[(len(lat)*99+99)/100-1]
		t.Logf("%s: %d pods, create -> Running on a watch: median %s, p99 %s, max %s", name, n, p50.Round(time.Millisecond), p99.Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
		return lat
	}
	seq := measure("seq", 50, false)
	if p99 := seq[len(seq)-1]; p99 > 5*time.Second {
		t.Errorf("sequential p99 %s exceeds the 5 s SLO", p99)
	}
	measure("burst", 50, true)
}
