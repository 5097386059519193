package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// reqKey is one apiserver_request_total series.
type reqKey struct{ resource, verb, code string }

// parseRequestCounts reads the apiserver_request_total counters out of a
// Prometheus text exposition (the master's /metrics).
func parseRequestCounts(r io.Reader) (map[reqKey]float64, error) {
	out := map[reqKey]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "apiserver_request_total{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		var k reqKey
		for _, kv := range strings.Split(labels, ",") {
			name, val, _ := strings.Cut(kv, "=")
			val = strings.Trim(val, `"`)
			switch name {
			case "resource":
				k.resource = val
			case "verb":
				k.verb = val
			case "code":
				k.code = val
			}
		}
		out[k] += v
	}
	return out, sc.Err()
}

// requestNote says what the master answered during a run of pods pods: the
// pod writes per pod, the minions' writes, and how many requests it turned
// away as busy (429: the in-flight cap or a per-client rate) or because the
// store did not commit in time (503).
func requestNote(counts map[reqKey]float64, pods int) string {
	sum := func(match func(k reqKey) bool) float64 {
		t := 0.0
		for k, v := range counts {
			if match(k) {
				t += v
			}
		}
		return t
	}
	is := func(res, verb string) func(reqKey) bool {
		return func(k reqKey) bool { return k.resource == res && k.verb == verb }
	}
	per := func(n float64) string {
		if pods <= 0 {
			return "-"
		}
		return strconv.FormatFloat(n/float64(pods), 'f', 2, 64)
	}
	creates, updates := sum(is("pods", "create")), sum(is("pods", "update"))
	minionWrites := sum(is("minions", "update")) + sum(is("minions", "create"))
	minionReads := sum(is("minions", "get"))
	heartbeats := sum(is("minions", "heartbeat"))
	busy := sum(func(k reqKey) bool { return k.code == "429" })
	slow := sum(func(k reqKey) bool { return k.code == "503" })
	conflicts := sum(func(k reqKey) bool { return k.code == "409" })
	return fmt.Sprintf("the master answered %s pod creates and %s pod updates (%s and %s a pod), "+
		"%s minion writes, %s minion reads and %s heartbeats (leases renewed, no write); %s answers were 409 (conflict), %s were 429 (busy) and %s were 503 (not committed in time)",
		thousands(int(creates)), thousands(int(updates)), per(creates), per(updates),
		thousands(int(minionWrites)), thousands(int(minionReads)), thousands(int(heartbeats)), thousands(int(conflicts)), thousands(int(busy)), thousands(int(slow)))
}

// requestCounts reads the master's request counters from its /metrics over
// plain HTTP, which a secure master serves to reads from its own host.
func (m *childMaster) requestCounts(ctx context.Context) (map[reqKey]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("master metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("master metrics: %s", resp.Status)
	}
	return parseRequestCounts(resp.Body)
}
