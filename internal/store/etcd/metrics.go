package etcd

import (
	"time"

	"kubelite/internal/api"
	"kubelite/internal/metrics"
)

// timed starts timing an etcd request; the function it returns observes
// the time in etcd_request_duration_seconds{operation,type}.
func timed(op string, res api.Resource) func() {
	start := time.Now()
	return func() {
		metrics.EtcdRequestDuration.WithLabelValues(op, string(res)).Observe(time.Since(start).Seconds())
	}
}
