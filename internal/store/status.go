package store

import (
	"context"

	"kubelite/internal/api"
)

// StatusWriter writes a pod's currentState alone: a kubelet's report of
// what runs, which need not send, decode or validate the desired state it
// does not change (PUT .../pods/NAME/status on the API).
type StatusWriter interface {
	// UpdatePodStatus replaces the currentState of the pod pod names
	// (namespace, id) with pod.CurrentState; every other field of pod is
	// ignored. A ResourceVersion other than 0 is a compare-and-swap: a
	// stale one fails with api.IsConflict. A missing pod fails with
	// api.IsNotFound. It returns the resourceVersion the write gave the
	// pod: what its writer (a kubelet) needs of the answer, and all the
	// API's client asks for (Prefer: return=minimal).
	UpdatePodStatus(ctx context.Context, pod *api.Pod) (uint64, error)
}
