package bench

import (
	"context"
	"fmt"
	"os"
	"time"

	"kubelite/internal/store"
)

// apiTLS: the price of the secure-by-default API. Two masters in processes
// of their own, one secure (TLS, the admin token: as users run it) and one
// --insecure (the 2014 API: plain HTTP, no authentication); pod creates one
// at a time through each, alternating which goes first, on kept-alive
// connections as every client here keeps them. Create p50 over TLS, with
// plain HTTP's as the same-run peer.
func apiTLS(ctx context.Context, env Env, o Options) ([]Figure, error) {
	dir, err := os.MkdirTemp("", "kubelite-bench-tls-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	secure, err := startChildMaster(ctx, env.Binary(), dir+"/secure")
	if err != nil {
		return nil, fmt.Errorf("secure master: %w", err)
	}
	defer secure.stop()
	plain, err := startChildMaster(ctx, env.Binary(), dir+"/plain", "--insecure")
	if err != nil {
		return nil, fmt.Errorf("insecure master: %w", err)
	}
	defer plain.stop()
	sc, err := secure.client()
	if err != nil {
		return nil, err
	}
	pc, err := plain.client()
	if err != nil {
		return nil, err
	}
	n := pick(o, 100, 500)
	var tlsP50, plainP50 Sample
	for run := 0; run < 3; run++ {
		order := []struct {
			st  store.Store
			out *Sample
		}{{sc, &tlsP50}, {pc, &plainP50}}
		if run%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, side := range order {
			p50, err := createP50(ctx, side.st, fmt.Sprintf("tls%d-", run), n)
			if err != nil {
				return nil, err
			}
			*side.out = append(*side.out, p50)
		}
	}
	f := NewFigure("", "create p50 over TLS (secure master)", "ms", tlsP50).WithPeer("plain HTTP (--insecure)", plainP50)
	return []Figure{f.WithTarget("<= 1.2x plain HTTP", f.Ratio <= 1.2)}, nil
}

// createP50 creates n pods one at a time through st (after 10 unmeasured
// ones: connections made, caches warm) and returns the median in ms.
func createP50(ctx context.Context, st store.Store, prefix string, n int) (float64, error) {
	var lats []time.Duration
	for i := -10; i < n; i++ {
		p := benchPod(fmt.Sprintf("%s%d", prefix, i+10), map[string]string{"bench": "tls"})
		t0 := time.Now()
		if err := createRetry(ctx, st, p); err != nil {
			return 0, fmt.Errorf("create %s: %w", p.ID, err)
		}
		if i >= 0 {
			lats = append(lats, time.Since(t0))
		}
	}
	return Durations(lats).Median(), nil
}
