package kubelet

import (
	"context"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/metrics"
	"kubelite/internal/runtime"
)

// podMetrics keeps what kubelet_pod_start_duration_seconds and
// kubelet_running_pods need; guarded by Kubelet.mu.
type podMetrics struct {
	starts  map[string]time.Time // pod key -> first seen not running; zero once started
	running map[string]bool      // pod keys whose status is Running
	gauge   *metrics.GaugeDelta  // this kubelet's share of kubelet_running_pods
}

func newPodMetrics() podMetrics {
	return podMetrics{starts: map[string]time.Time{}, running: map[string]bool{}, gauge: metrics.NewGaugeDelta(metrics.KubeletRunningPods)}
}

// notePodSeen starts timing a pod the first time a sync sees it, unless a
// container of it already runs (a kubelet restarted under running pods).
func (k *Kubelet) notePodSeen(key string, cs []runtime.Container) {
	now := time.Now() // a measurement, not a decision: the wall clock
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, known := k.podMetrics.starts[key]; known {
		return
	}
	for _, c := range cs {
		if c.State == runtime.StateRunning {
			k.podMetrics.starts[key] = time.Time{}
			return
		}
	}
	k.podMetrics.starts[key] = now
}

// notePodStatus updates the pod metrics with a synced pod's status: the
// first Running since notePodSeen started timing observes the pod's start
// duration.
func (k *Kubelet) notePodStatus(key string, st api.PodStatus) {
	now := time.Now()
	running := st == api.PodRunning
	k.mu.Lock()
	defer k.mu.Unlock()
	pm := &k.podMetrics
	if t := pm.starts[key]; running && !t.IsZero() {
		metrics.KubeletPodStart.Observe(now.Sub(t).Seconds())
		pm.starts[key] = time.Time{}
	}
	if running {
		pm.running[key] = true
	} else {
		delete(pm.running, key)
	}
	pm.gauge.Set(float64(len(pm.running)))
}

// forgetPodMetricsLocked drops a pod that is gone; k.mu is held.
func (k *Kubelet) forgetPodMetricsLocked(key string) {
	delete(k.podMetrics.starts, key)
	delete(k.podMetrics.running, key)
	k.podMetrics.gauge.Set(float64(len(k.podMetrics.running)))
}

// clearPodMetrics withdraws this kubelet's share of kubelet_running_pods
// when it stops.
func (k *Kubelet) clearPodMetrics() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.podMetrics.gauge.Set(0)
}

// backOffEvents records a BackOff event for each container of the plan
// waiting in a crash loop (the recorder drops repeats of one back-off step).
func (k *Kubelet) backOffEvents(ctx context.Context, pod *api.Pod, waiting map[string]string) {
	for name, why := range waiting {
		if rest, ok := strings.CutPrefix(why, "CrashLoopBackOff: "); ok {
			k.event(ctx, pod, name, EventBackOff, strings.ToUpper(rest[:1])+rest[1:])
		}
	}
}
