package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/securetest"
	"kubelite/internal/store"
)

// Sizes of the watch-fanout scenario.
const (
	fanoutWatchers = 1000
	// fanoutRate is the writes a second: each write reaches every watcher,
	// so 1,000 watchers see 100,000 events a second.
	fanoutRate = 100
	// fanoutPerAddr is the watchers per client address: the API caps
	// long-running requests at 500 per client, and 1,000 watchers of a
	// real cluster come from many hosts; here from 127.0.0.2, 127.0.0.3...
	fanoutPerAddr = 250
)

// watchFanout: 1,000 API watchers of pods in another process than the
// master (the master is `kubelite master --etcd-embed` in its own, secure,
// as in the scale scenario; the watchers are this process), and 1,000 pod
// creates at 100/s through the same API; delivery latency from the start
// of each write to each watcher's receipt of its event.
//
// A watcher reads its stream as bytes and takes the write's start time
// from the event's line: it times delivery, not the client's JSON decoding
// (a real watcher's decoding runs on its own host, and 100,000 decodes a
// second would be the bench's bottleneck on a small machine, not the API's).
func watchFanout(ctx context.Context, env Env, o Options) ([]Figure, error) {
	m, err := startTempMaster(ctx, env.Binary(), "fanout", o.masterArgs("fanout")...)
	if err != nil {
		return nil, err
	}
	defer m.stop()
	st, err := m.client()
	if err != nil {
		return nil, err
	}
	ep, err := securetest.FromKubeconfig(m.kubeconfig)
	if err != nil {
		return nil, err
	}
	watchers, writes := fanoutWatchers, pick(o, 100, 1000)
	// One transport per client address, each connection a watcher's own.
	var clients []*http.Client
	for a := 0; a*fanoutPerAddr < watchers; a++ {
		tr := ep.NewTransport()
		local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+a))}
		tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, LocalAddr: local}).DialContext
		tr.MaxIdleConnsPerHost = fanoutPerAddr
		clients = append(clients, &http.Client{Transport: ep.Wrap(tr)})
		defer tr.CloseIdleConnections()
	}
	var p50s, p99s, after99s, rates, cpus Sample
	for run := 0; run < 3; run++ {
		_, rev, err := st.List(ctx, api.Pods, store.ListOptions{Namespace: api.DefaultNamespace})
		if err != nil {
			return nil, err
		}
		url := fmt.Sprintf("%s/api/v1beta1/watch/pods?namespace=%s&resourceVersion=%d", ep.URL, api.DefaultNamespace, rev)
		wctx, cancel := context.WithCancel(ctx)
		got := make([][]receipt, watchers)
		errs := make([]error, watchers)
		var wg sync.WaitGroup
		// Opened 16 at a time (a TLS handshake each), all before the first write.
		bodies := make([]io.ReadCloser, watchers)
		openErrs := make([]error, watchers)
		sem := make(chan struct{}, 16)
		var owg sync.WaitGroup
		for w := range bodies {
			owg.Add(1)
			sem <- struct{}{}
			go func() {
				defer owg.Done()
				defer func() { <-sem }()
				bodies[w], openErrs[w] = openWatch(wctx, clients[w/fanoutPerAddr], url)
			}()
		}
		owg.Wait()
		if err := errors.Join(openErrs...); err != nil {
			cancel()
			for _, b := range bodies {
				if b != nil {
					b.Close()
				}
			}
			return nil, fmt.Errorf("watchers: %w (master log %s)", err, tail(m.log))
		}
		for w, body := range bodies {
			got[w] = make([]receipt, 0, writes)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer body.Close()
				got[w], errs[w] = readSent(body, got[w], writes)
			}()
		}
		progress(o, "  watch-fanout: %d watchers open; %d writes at %d/s", watchers, writes, fanoutRate)
		cpu0, err := cpuTime(m.pid())
		if err != nil {
			cancel()
			wg.Wait()
			return nil, err
		}
		tick := time.NewTicker(time.Second / fanoutRate)
		wstart := time.Now()
		written := make(map[int64]int64, writes) // write's start -> its return, Unix ns
		for i := 0; i < writes; i++ {
			<-tick.C
			p := benchPod(fmt.Sprintf("f%d-%d", run, i), nil)
			sent := time.Now().UnixNano()
			p.Annotations = map[string]string{"bench/sent": strconv.FormatInt(sent, 10)}
			err := createRetry(ctx, st, p)
			written[sent] = time.Now().UnixNano()
			if err != nil {
				tick.Stop()
				cancel()
				wg.Wait()
				return nil, err
			}
		}
		tick.Stop()
		rates = append(rates, float64(writes)/time.Since(wstart).Seconds())
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
		}
		cancel()
		<-done
		cpu1, err := cpuTime(m.pid())
		if err != nil {
			return nil, err
		}
		var all, after []time.Duration
		for w, l := range got {
			if len(l) < writes {
				return nil, fmt.Errorf("watcher %d received %d of %d events (%v)", w, len(l), writes, errs[w])
			}
			for _, r := range l {
				all = append(all, time.Duration(r.recv-r.sent))
				// Before the writer has its answer counts as no delay.
				after = append(after, time.Duration(max(0, r.recv-written[r.sent])))
			}
		}
		s := Durations(all)
		p50s, p99s = append(p50s, s.Quantile(0.5)), append(p99s, s.Quantile(0.99))
		after99s = append(after99s, Durations(after).Quantile(0.99))
		cpus = append(cpus, float64(cpu1-cpu0)/float64(time.Microsecond)/float64(len(all)))
	}
	name := fmt.Sprintf("delivery %%s, %s watchers in another process, %s writes at %d/s", thousands(watchers), thousands(writes), fanoutRate)
	f := NewFigure("", fmt.Sprintf(name, "p99"), "ms", p99s)
	return []Figure{
		NewFigure("", fmt.Sprintf(name, "p50"), "ms", p50s),
		f.WithTarget("p99 < 100 ms", f.Median < 100),
		NewFigure("", fmt.Sprintf(name, "p99 after the write returned"), "ms", after99s),
		NewFigure("", "writes/s reached (one writer, each create waited for)", "writes/s", rates),
		NewFigure("", "master CPU per event delivered (user+system)", "us", cpus),
	}, nil
}

// cpuTime returns the CPU time (user and system) process pid has used.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
	}
	// The fields after the command (in parentheses, which may hold spaces):
	// state is field 3, utime 14 and stime 15, in clock ticks.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("cpu time of %d: unexpected /proc stat %q", pid, b)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("cpu time of %d: %w", pid, err)
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticksPerSecond, nil
}

// openWatch starts a watch request and returns its streaming body.
func openWatch(ctx context.Context, hc *http.Client, url string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("watch: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return resp.Body, nil
}

// receipt is one event received: its write's start and its receipt, Unix ns.
type receipt struct{ sent, recv int64 }

// readSent reads watch lines from r until it has seen want ADDED events
// carrying a bench/sent annotation, appending each one's receipt to got.
func readSent(r io.Reader, got []receipt, want int) ([]receipt, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than the reader's buffer
	for len(got) < want {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if err != nil {
			return got, err
		}
		now := time.Now().UnixNano()
		if long != nil {
			line, long = append(long, line...), nil
		}
		if sent, ok := sentOf(line); ok {
			got = append(got, receipt{sent: sent, recv: now})
		}
	}
	return got, nil
}

// sentOf returns the bench/sent annotation of an ADDED watch line.
func sentOf(line []byte) (int64, bool) {
	if !bytes.HasPrefix(line, []byte(`{"type":"ADDED"`)) {
		return 0, false
	}
	const key = `"bench/sent":"`
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := line[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return n, err == nil
}
