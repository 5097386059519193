package kubelet

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store/memory"
)

// TestProbeWorkersJoinedByRun: the prober owns its workers, and Run returns
// only after every probe goroutine has returned (issue 15: every goroutine
// has an owner).
func TestProbeWorkersJoinedByRun(t *testing.T) {
	e := startKubelet(t, memory.New(), fakeRT(), nil)
	p := webPod("joined")
	p.DesiredState.Manifest.Containers[0].LivenessProbe = &api.LivenessProbe{Exec: &api.ExecAction{Command: []string{"/webserver", "healthcheck"}}}
	e.createPod(p)
	e.waitPod("joined", 5*time.Second, "Running", running)
	if n := e.k.prober.count(); n != 1 {
		t.Fatalf("%d probe workers, want 1", n)
	}
	if n := probeGoroutines(); n != 1 {
		t.Fatalf("%d probe goroutines before Run returned, want 1", n)
	}
	e.stopK()
	if n := e.k.prober.count(); n != 0 {
		t.Fatalf("%d probe workers after Run returned, want 0", n)
	}
	if n := probeGoroutines(); n != 0 {
		t.Fatalf("%d probe goroutines still running after Run returned", n)
	}
}

// probeGoroutines counts goroutines running a probe worker of this package.
func probeGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "kubelet.(*prober).work(") {
			n++
		}
	}
	return n
}
