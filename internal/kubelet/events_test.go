package kubelet

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/metrics"
	"kubelite/internal/record"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/fake"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// TestFakeEventsThroughRecorder starts a pod whose image must be pulled on
// the fake runtime, then makes it crash twice: the recorder sees Pulling,
// Pulled, Created and Started naming the container, then BackOff; the pod
// metrics move.
func TestFakeEventsThroughRecorder(t *testing.T) {
	rt := fake.New(fake.Options{Images: []string{"kubelite/pause:1"}, Record: true})
	rec := &record.Fake{}
	startsBefore, err := metrics.Value(metrics.KubeletPodStart)
	if err != nil {
		t.Fatal(err)
	}
	e := startKubelet(t, memory.New(), rt, func(c *Config) { c.Recorder = rec })
	e.createPod(webPod("evpod"))
	p := e.waitPod("evpod", 5*time.Second, "Running", running)

	// Created and Started are recorded just after the Running status.
	testutil.Eventually(t, 5*time.Second, func() bool { return rec.Count(EventStarted) > 0 }, "no Started event; events: %q", rec.Reasons())
	for _, reason := range []string{EventPulling, EventPulled, EventCreated, EventStarted} {
		if rec.Count(reason) == 0 {
			t.Errorf("no %s event; events: %q", reason, rec.Reasons())
		}
	}
	for _, ev := range rec.Events {
		if ev.InvolvedObject.Name != "evpod" || ev.InvolvedObject.Kind != "Pod" || ev.InvolvedObject.FieldPath != "desiredState.manifest.containers{web}" {
			t.Errorf("event %s about %+v, want pod evpod's container web", ev.Reason, ev.InvolvedObject)
		}
	}
	if got, err := metrics.Value(metrics.KubeletPodStart); err != nil || got < startsBefore+1 {
		t.Errorf("kubelet_pod_start_duration_seconds count %v (%v), was %v", got, err, startsBefore)
	}
	if got, err := metrics.Value(metrics.KubeletRunningPods); err != nil || got < 1 {
		t.Errorf("kubelet_running_pods %v (%v) with a pod running", got, err)
	}

	for attempt := 0; attempt < 2; attempt++ {
		id := strings.TrimPrefix(p.CurrentState.Info.Status("web").ContainerID, "docker://")
		if err := rt.Exit(id, 1); err != nil {
			t.Fatal(err)
		}
		if attempt == 0 {
			p = e.waitPod("evpod", 5*time.Second, "first restart", func(p *api.Pod) bool {
				return p.CurrentState.Info.Status("web").RestartCount == 1 && p.CurrentState.Info.Status("web").State.Running != nil
			})
		}
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return rec.Count(EventBackOff) > 0 }, "no BackOff event; events: %q", rec.Reasons())
	for _, r := range rec.Reasons() {
		if strings.HasPrefix(r, EventBackOff+": ") && !strings.Contains(r, "Back-off 10s restarting failed container web") {
			t.Errorf("BackOff event %q does not say which container and for how long", r)
		}
	}
}

// TestFakeFailedPullEvent: a pull that fails records Pulling then Failed.
func TestFakeFailedPullEvent(t *testing.T) {
	rec := &record.Fake{}
	e := startKubelet(t, memory.New(), fake.New(fake.Options{Images: []string{"kubelite/pause:1"}, PullFails: true}), func(c *Config) { c.Recorder = rec })
	e.createPod(webPod("nopull"))
	testutil.Eventually(t, 5*time.Second, func() bool { return rec.Count(EventFailed) > 0 }, "no Failed event; events: %q", rec.Reasons())
	if rec.Count(EventPulling) == 0 || rec.Count(EventPulled) != 0 {
		t.Errorf("events %q: want Pulling and no Pulled", rec.Reasons())
	}
}

// brokenEngine answers no image question, as Docker does when it is down.
type brokenEngine struct{ runtime.Runtime }

func (brokenEngine) HasImage(context.Context, string) (bool, error) {
	return false, errors.New("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
}

// TestReadyzChecksEngineAndCache: a running kubelet is ready (every check
// listed with ?verbose); the same kubelet with its engine down is not, and
// /healthz says the same as /readyz; /livez stays ok.
func TestReadyzChecksEngineAndCache(t *testing.T) {
	e := startKubelet(t, memory.New(), fakeRT(), nil)
	get := func(h http.Handler, path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get(e.k.Handler(), "/readyz?verbose"); code != 200 || body != "[+]ping ok\n[+]docker ok\n[+]pods-synced ok\nreadyz check passed\n" {
		t.Errorf("ready kubelet: /readyz?verbose = %d %q", code, body)
	}
	if code, body := get(e.k.Handler(), "/readyz"); code != 200 || body != "ok" {
		t.Errorf("ready kubelet: /readyz = %d %q", code, body)
	}
	e.stopK() // the caches stay listed; the engine is swapped with nothing running
	e.k.cfg.Runtime = brokenEngine{e.k.cfg.Runtime}
	for _, path := range []string{"/readyz", "/healthz"} {
		if code, body := get(e.k.Handler(), path); code != 503 || !strings.Contains(body, "[-]docker failed: container engine: Cannot connect to the Docker daemon") {
			t.Errorf("engine down: %s = %d %q", path, code, body)
		}
	}
	if code, _ := get(e.k.Handler(), "/livez"); code != 200 {
		t.Errorf("engine down: /livez = %d, want 200", code)
	}
}

// phaseRecorder notes the pod's phase in the store when each event is
// recorded.
type phaseRecorder struct {
	record.Fake
	st     *memory.Store
	mu     sync.Mutex
	phases map[string]api.PodPhase // reason -> phase in the store then
}

func (r *phaseRecorder) RecordField(ctx context.Context, obj api.Object, fieldPath, reason, message string) {
	phase := api.PodPhase("(no pod)")
	if o, err := r.st.Get(ctx, api.Pods, obj.Meta().Namespace, obj.Meta().ID); err == nil {
		phase = o.(*api.Pod).CurrentState.Phase
	}
	r.mu.Lock()
	r.phases[reason] = phase
	r.mu.Unlock()
	r.Fake.RecordField(ctx, obj, fieldPath, reason, message)
}

// TestFakeStartEventsAfterStatus: a pod start's Created and Started events
// (each a store write) are recorded after the Running status is in the
// store, not before it, where they would delay it.
func TestFakeStartEventsAfterStatus(t *testing.T) {
	st := memory.New()
	rec := &phaseRecorder{st: st, phases: map[string]api.PodPhase{}}
	e := startKubelet(t, st, fakeRT(), func(c *Config) { c.Recorder = rec })
	e.createPod(webPod("order"))
	e.waitPod("order", 5*time.Second, "Running", running)
	testutil.Eventually(t, 5*time.Second, func() bool { return rec.Count(EventStarted) > 0 }, "no Started event; events: %q", rec.Reasons())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, reason := range []string{EventCreated, EventStarted} {
		if got := rec.phases[reason]; got != api.PodPhaseRunning {
			t.Errorf("%s recorded with the pod %q in the store, want %q (the status first)", reason, got, api.PodPhaseRunning)
		}
	}
}
