package apiserver

import (
	"net/http"
	"strings"
	"time"

	"kubelite/internal/metrics"
)

// instrument counts every request in apiserver_request_total by verb,
// resource (from requestAttributes, bounded by metrics.Verb and
// metrics.Resource) and code; requests that are not long-running are also
// timed and counted in flight.
func instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attrs := requestAttributes(r)
		verb, res := metrics.Verb(attrs.Verb), metrics.Resource(attrs.Resource)
		if isHeartbeat(r) {
			verb = "heartbeat" // authorized as an update of the minion, counted apart
		}
		long := isLongRunning(r)
		start := time.Now()
		if !long {
			kind := "readOnly"
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				kind = "mutating"
			}
			g := metrics.APIInflight.WithLabelValues(kind)
			g.Inc()
			defer g.Dec()
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			code := sw.code
			if code == 0 {
				code = http.StatusOK
			}
			metrics.APIRequests.WithLabelValues(verb, res, metrics.Code(code)).Inc()
			if !long {
				metrics.APIRequestDuration.WithLabelValues(verb, res).Observe(time.Since(start).Seconds())
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// isHeartbeat tells a minion's heartbeat (PUT .../minions/NAME/heartbeat)
// from the writes of minions.
func isHeartbeat(r *http.Request) bool {
	p := strings.TrimSuffix(r.URL.Path, "/")
	return r.Method == http.MethodPut && strings.HasSuffix(p, "/heartbeat") && strings.Contains(p, "/minions/")
}
