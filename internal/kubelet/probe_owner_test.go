package kubelet

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
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
	// The worker is counted as it is started; its goroutine runs a moment
	// later (until then its stack shows the closure that calls work).
	testutil.Eventually(t, 5*time.Second, func() error {
		if n := probeGoroutines(); n != 1 {
			return fmt.Errorf("%d probe goroutines", n)
		}
		return nil
	}, "one probe goroutine before Run returned")
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

// TestPruneKeepsWorkersStartedAfterTheList: housekeeping lists containers,
// then prunes the probe workers of containers not in the list. A worker a
// sync started in between is of a container the list may not hold; it must
// survive (it did not: the CI failure of TestFakeHTTPProbeAgainstLoopback,
// whose pod, created as the kubelet started, lost its probe to the first
// housekeeping and never restarted).
func TestPruneKeepsWorkersStartedAfterTheList(t *testing.T) {
	e := startKubelet(t, memory.New(), fakeRT(), nil)
	p := webPod("pruned")
	p.DesiredState.Manifest.Containers[0].LivenessProbe = &api.LivenessProbe{Exec: &api.ExecAction{Command: []string{"/webserver", "healthcheck"}}}
	e.createPod(p)
	e.waitPod("pruned", 5*time.Second, "Running", running)
	started := e.k.prober.mark()
	e.k.prober.prune(map[string]bool{}, started-1)
	if n := e.k.prober.count(); n != 1 {
		t.Fatalf("%d probe workers after a prune by a list older than the worker, want 1", n)
	}
	e.k.prober.prune(map[string]bool{}, started)
	if n := e.k.prober.count(); n != 0 {
		t.Fatalf("%d probe workers after a prune by a newer list without their container, want 0", n)
	}
	// Failures likewise: housekeeping forgets one of a container gone
	// before its list, keeps one of a worker numbered after the list.
	e.k.mu.Lock()
	e.k.unhealthy["gone"] = probeFailure{msg: "x", seq: started}
	e.k.unhealthy["after-the-list"] = probeFailure{msg: "x", seq: started + 1}
	e.k.mu.Unlock()
	e.k.housekeeping(e.ctx)
	e.k.mu.Lock()
	_, gone := e.k.unhealthy["gone"]
	_, kept := e.k.unhealthy["after-the-list"]
	e.k.mu.Unlock()
	if gone || !kept {
		t.Fatalf("after housekeeping: failure of a container gone kept %v, of a worker after the list kept %v; want false, true", gone, kept)
	}
}
