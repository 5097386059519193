package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/endpoint"
	"kubelite/internal/store"
	"kubelite/internal/store/remote"
)

// apiWrite: single pod creates through the API at 200/s (latency), and
// creates/s from 16 writers through the API next to raw etcd puts of the
// same bytes from 16 writers, in the same run.
func apiWrite(ctx context.Context, env Env, o Options) ([]Figure, error) {
	m, cl, err := apiMaster(ctx, env)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	runs := 3
	perRun := pick(o, 1500*time.Millisecond, 20*time.Second) // 3 x 20 s = the 60 s at 200/s
	var p50s, p99s, apiTput, rawTput, apiCPU, rawCPU Sample
	seq := 0
	for run := 0; run < runs; run++ {
		var lats []time.Duration
		tick := time.NewTicker(5 * time.Millisecond) // 200/s
		end := time.Now().Add(perRun)
		var mu sync.Mutex
		var wg sync.WaitGroup
		var firstErr atomic.Value
		for time.Now().Before(end) {
			<-tick.C
			seq++
			p := benchPod(fmt.Sprintf("w%d", seq), map[string]string{"bench": "write"})
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				if _, err := cl.Create(ctx, p); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lats = append(lats, d)
				mu.Unlock()
			}()
		}
		tick.Stop()
		wg.Wait()
		if e, ok := firstErr.Load().(error); ok {
			return nil, fmt.Errorf("create at 200/s: %w", e)
		}
		s := Durations(lats)
		p50s = append(p50s, s.Quantile(0.5))
		p99s = append(p99s, s.Quantile(0.99))

		// Throughput: API creates and raw etcd puts of the same bytes from
		// the same number of writers, in short slices taking turns (which
		// goes first alternates), so that both sides see the same load from
		// whatever else runs on the machine. Each slice also yields the CPU
		// this process spent per write (user+system: the master, etcd and
		// the client all live here).
		//
		// Each slice creates in a namespace of its own: the full run
		// creates more pods than the 50,000 a namespace may hold (the
		// master's default), and within 10% of that limit the registry
		// reads the namespace's count more often.
		d := pick(o, 250*time.Millisecond, time.Second)
		slices := pick(o, 3, 5)
		raw, _ := json.Marshal(benchPod("raw", nil))
		for sl := 0; sl < slices; sl++ {
			ns := fmt.Sprintf("bench-t%d-%d", run, sl)
			sides := []func() error{
				func() error {
					n, cpu, err := saturate(ctx, 16, d, func(i int64) error {
						p := benchPod(fmt.Sprintf("t%d", i), nil)
						p.Namespace = ns
						_, err := cl.Create(ctx, p)
						return err
					})
					if err != nil {
						return fmt.Errorf("api throughput: %w", err)
					}
					apiTput, apiCPU = append(apiTput, n), append(apiCPU, cpu)
					return nil
				},
				func() error {
					n, cpu, err := saturate(ctx, 16, d, func(i int64) error {
						return m.RawPut(ctx, fmt.Sprintf("/bench/raw/%d/%d/%d", run, sl, i), raw)
					})
					if err != nil {
						return fmt.Errorf("raw etcd throughput: %w", err)
					}
					rawTput, rawCPU = append(rawTput, n), append(rawCPU, cpu)
					return nil
				},
			}
			if (run*slices+sl)%2 == 1 {
				sides[0], sides[1] = sides[1], sides[0]
			}
			for _, side := range sides {
				if err := side(); err != nil {
					return nil, err
				}
			}
		}
	}
	f99 := NewFigure("", "create p99 at 200/s", "ms", p99s)
	tp := NewFigure("", "creates/s, 16 writers", "1/s", apiTput).WithPeer("raw etcd puts/s", rawTput)
	return []Figure{
		NewFigure("", "create p50 at 200/s", "ms", p50s),
		f99.WithTarget("p99 < 25 ms", f99.Median < 25),
		tp.WithTarget(">= 50% of raw etcd", tp.Ratio >= 0.5),
		NewFigure("", "CPU per create, 16 writers (this process: client, API, etcd)", "us", apiCPU).WithPeer("per raw etcd put", rawCPU),
	}, nil
}

// saturate runs op from workers goroutines for d and returns ops per
// second and the CPU time (user+system) this process spent per op
// meanwhile, in microseconds.
func saturate(ctx context.Context, workers int, d time.Duration, op func(i int64) error) (rate, cpuPerOp float64, err error) {
	var n, done atomic.Int64
	var firstErr atomic.Value
	cpu0 := processCPU()
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) && ctx.Err() == nil {
				if err := op(n.Add(1)); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	took, cpu := time.Since(start), processCPU()-cpu0
	if e, ok := firstErr.Load().(error); ok {
		return 0, 0, e
	}
	ops := float64(done.Load())
	if ops == 0 {
		return 0, 0, nil
	}
	return ops / took.Seconds(), float64(cpu.Microseconds()) / ops, nil
}

// processCPU is the CPU time (user+system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// apiRead: get one pod and list 1,000 pods through the API.
func apiRead(ctx context.Context, env Env, o Options) ([]Figure, error) {
	m, cl, err := apiMaster(ctx, env)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	pods := make([]*api.Pod, 1000)
	for i := range pods {
		pods[i] = benchPod(fmt.Sprintf("r%04d", i), map[string]string{"bench": "read"})
	}
	if err := createMany(ctx, m.Store(), pods, 16); err != nil {
		return nil, err
	}
	// A list is timed as the API serves it: request sent to the last byte
	// of the body received (the upstream SLI is server-side too). Decoding
	// 1.5 MB of JSON into objects is the client's cost; it is measured
	// apart, with the Go client every component uses.
	listURL := m.URL() + "/api/v1beta1/pods?namespace=" + api.DefaultNamespace
	hc := &http.Client{Transport: endpoint.Endpoint{}.NewTransport(), Timeout: time.Minute}
	defer hc.CloseIdleConnections()
	var get50, get99, list50, list99, dec50 Sample
	// Lists are read in large pieces: io.Copy to io.Discard reads 8 KiB at
	// a time, 190 reads (system calls) for a 1.5 MB list, and would time the
	// client's reading more than the server's list.
	buf := make([]byte, 256<<10)
	gets, lists := pick(o, 100, 1000), pick(o, 10, 100)
	for run := 0; run < 3; run++ {
		var g, l, dl []time.Duration
		for i := 0; i < gets; i++ {
			t0 := time.Now()
			if _, err := cl.Get(ctx, api.Pods, api.DefaultNamespace, pods[i%len(pods)].ID); err != nil {
				return nil, fmt.Errorf("get: %w", err)
			}
			g = append(g, time.Since(t0))
		}
		for i := 0; i < lists; i++ {
			t0 := time.Now()
			n, err := getBody(ctx, hc, listURL, buf)
			if err != nil {
				return nil, fmt.Errorf("list: %w", err)
			}
			l = append(l, time.Since(t0))
			if n < int64(len(pods))*1000 {
				return nil, fmt.Errorf("list returned %d bytes, too few for %d pods", n, len(pods))
			}
		}
		for i := 0; i < max(lists/5, 2); i++ {
			t0 := time.Now()
			items, _, err := cl.List(ctx, api.Pods, store.ListOptions{Namespace: api.DefaultNamespace})
			if err != nil {
				return nil, fmt.Errorf("list: %w", err)
			}
			if len(items) != len(pods) {
				return nil, fmt.Errorf("list returned %d pods, want %d", len(items), len(pods))
			}
			dl = append(dl, time.Since(t0))
		}
		gs, ls := Durations(g), Durations(l)
		get50, get99 = append(get50, gs.Quantile(0.5)), append(get99, gs.Quantile(0.99))
		list50, list99 = append(list50, ls.Quantile(0.5)), append(list99, ls.Quantile(0.99))
		dec50 = append(dec50, Durations(dl).Quantile(0.5))
	}
	l99 := NewFigure("", "list 1,000 pods p99", "ms", list99)
	return []Figure{
		NewFigure("", "get pod p50", "ms", get50),
		NewFigure("", "get pod p99", "ms", get99),
		NewFigure("", "list 1,000 pods p50", "ms", list50),
		l99.WithTarget("p99 < 20 ms", l99.Median < 20),
		NewFigure("", "list 1,000 pods + decode (Go client) p50", "ms", dec50),
	}, nil
}

// getBody GETs url and reads the whole body into buf, piece by piece; it
// returns the body's size.
func getBody(ctx context.Context, hc *http.Client, url string, buf []byte) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return n, nil
}

// apiMaster starts a master without loops and an HTTP client of its API.
func apiMaster(ctx context.Context, env Env) (Master, *remote.Store, error) {
	m, err := env.StartMaster(ctx, MasterOptions{})
	if err != nil {
		return nil, nil, err
	}
	cl, err := remote.New(m.URL())
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, cl, nil
}
