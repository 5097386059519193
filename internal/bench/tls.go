package bench

import (
	"context"
	"fmt"
	"time"

	"kubelite/internal/store"
)

// apiTLS: the price of the secure-by-default API. Two masters in processes
// of their own, one secure (TLS, the admin token: as users run it) and one
// --insecure (the 2014 API: plain HTTP, no authentication); pod creates one
// at a time through each, taking turns pod by pod, on kept-alive
// connections as every client here keeps them. Create p50 over TLS, with
// plain HTTP's as the same-run peer.
func apiTLS(ctx context.Context, env Env, o Options) ([]Figure, error) {
	secure, err := startTempMaster(ctx, env.Binary(), "tls-secure", o.masterArgs("tls-secure")...)
	if err != nil {
		return nil, fmt.Errorf("secure master: %w", err)
	}
	defer secure.stop()
	plain, err := startTempMaster(ctx, env.Binary(), "tls-plain", append(o.masterArgs("tls-plain"), "--insecure")...)
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
		lats, err := createTurns(ctx, []store.Store{sc, pc}, fmt.Sprintf("tls%d-", run), n)
		if err != nil {
			return nil, err
		}
		tlsP50, plainP50 = append(tlsP50, Durations(lats[0]).Median()), append(plainP50, Durations(lats[1]).Median())
	}
	f := NewFigure("", "create p50 over TLS (secure master)", "ms", tlsP50).WithPeer("plain HTTP (--insecure)", plainP50)
	return []Figure{f.WithTarget("<= 1.2x plain HTTP", f.Ratio <= 1.2)}, nil
}

// createTurns creates n pods one at a time through each store, taking
// turns pod by pod (which store goes first alternates), after 10
// unmeasured rounds (connections made, caches warm), and returns each
// store's latencies. Taking turns per request, not per series, gives both
// the same load from the rest of the machine: series of 500 one after the
// other measured 0.86x to 1.19x in five runs of one build at load 20 to 25.
func createTurns(ctx context.Context, sts []store.Store, prefix string, n int) ([][]time.Duration, error) {
	lats := make([][]time.Duration, len(sts))
	for i := -10; i < n; i++ {
		for k := range sts {
			s := (k + i + 10) % len(sts)
			p := benchPod(fmt.Sprintf("%s%d-%d", prefix, s, i+10), map[string]string{"bench": "tls"})
			t0 := time.Now()
			if err := createRetry(ctx, sts[s], p); err != nil {
				return nil, fmt.Errorf("create %s: %w", p.ID, err)
			}
			if i >= 0 {
				lats[s] = append(lats[s], time.Since(t0))
			}
		}
	}
	return lats, nil
}
