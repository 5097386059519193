package kubelet

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// probeTimeout bounds each readiness check of the kubelet.
const probeTimeout = 3 * time.Second

// check is one named readiness check; nil is healthy.
type check struct {
	name string
	run  func(ctx context.Context) error
}

// readyChecks are what /readyz (and /healthz) ask: the container engine
// answers, and the pod cache has its first list.
func (k *Kubelet) readyChecks() []check {
	return []check{
		{"docker", func(ctx context.Context) error {
			if _, err := k.cfg.Runtime.HasImage(ctx, k.cfg.InfraImage); err != nil {
				return fmt.Errorf("container engine: %w", err)
			}
			return nil
		}},
		{"pods-synced", func(context.Context) error {
			s, ok := k.pods.(interface{ Synced() <-chan struct{} })
			if !ok {
				return nil // a cache handed in by the caller: its owner syncs it
			}
			select {
			case <-s.Synced():
				return nil
			default:
				return fmt.Errorf("the pod cache has not listed pods bound to %s yet (is the master reachable?)", k.cfg.NodeName)
			}
		}},
	}
}

// serveProbe answers a probe as the API server does: "ok" and 200 when
// every check passes, 503 otherwise; with ?verbose, or on failure, one line
// per check ("[+]docker ok", "[-]docker failed: ...").
func serveProbe(w http.ResponseWriter, r *http.Request, what string, checks []check) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		httpError(w, http.StatusMethodNotAllowed, "%s: only GET", what)
		return
	}
	lines := "[+]ping ok\n"
	failed := 0
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
		err := c.run(ctx)
		cancel()
		if err != nil {
			failed++
			lines += fmt.Sprintf("[-]%s failed: %s\n", c.name, oneLine(err.Error()))
		} else {
			lines += fmt.Sprintf("[+]%s ok\n", c.name)
		}
	}
	code, verdict := http.StatusOK, "passed"
	if failed > 0 {
		code, verdict = http.StatusServiceUnavailable, "failed"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if _, verbose := r.URL.Query()["verbose"]; verbose || failed > 0 {
		_, _ = io.WriteString(w, lines+what+" check "+verdict+"\n")
		return
	}
	_, _ = io.WriteString(w, "ok")
}
