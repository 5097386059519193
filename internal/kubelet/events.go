package kubelet

import (
	"context"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
)

// Event reasons the kubelet records, as Kubernetes names them.
const (
	EventPulling   = "Pulling"
	EventPulled    = "Pulled"
	EventFailed    = "Failed"
	EventCreated   = "Created"
	EventStarted   = "Started"
	EventKilling   = "Killing"
	EventBackOff   = "BackOff"
	EventUnhealthy = "Unhealthy"
	EventRefused   = "Refused"
)

// event records an event about a pod's container through the recorder
// (rate-limited and deduplicated there) and logs it.
func (k *Kubelet) event(ctx context.Context, pod *api.Pod, container, reason, msg string) {
	if pod == nil {
		return
	}
	level := logrus.InfoLevel
	switch reason {
	case EventPulling, EventPulled, EventCreated, EventStarted, EventKilling:
		level = logrus.DebugLevel
	}
	k.log.WithFields(logrus.Fields{"pod": api.Key(pod), "container": container, "reason": reason}).Log(level, msg)
	k.cfg.Recorder.RecordField(ctx, pod, "desiredState.manifest.containers{"+container+"}", reason, msg)
}

// markUnhealthy records a failed liveness probe and queues the pod.
func (k *Kubelet) markUnhealthy(ctx context.Context, key string, pod *api.Pod, container, id string, f probeFailure) {
	k.mu.Lock()
	k.unhealthy[id] = f
	k.mu.Unlock()
	k.event(ctx, pod, container, EventUnhealthy, "Liveness probe failed: "+f.msg)
	k.queue.Add(key)
}
