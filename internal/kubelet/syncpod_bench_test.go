package kubelet

import (
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store/memory"
)

// BenchmarkSyncPodUnchanged is the resync of a running pod nothing changed
// for: what every kubelet does for each of its pods every SyncFrequency.
func BenchmarkSyncPodUnchanged(b *testing.B) {
	e := startKubelet(b, memory.New(), fakeRT(), nil)
	p := webPod("web")
	p.DesiredState.Manifest.Containers[0].Ports[0].HostPort = 0
	e.createPod(p)
	e.waitPod("web", 10*time.Second, "Running", running)
	key := api.Key(p)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.k.SyncPod(e.ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
