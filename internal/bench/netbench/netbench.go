package netbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"kubelite/internal/bench"
)

// parentEnv carries the parent's network namespace to the child, which
// checks that it is somewhere else.
const parentEnv = "KUBELITE_NETBENCH_PARENT_NETNS"

// Spec is what a child measures.
type Spec struct {
	Kind string `json:"kind"` // "proxy" or "rules-sync"
	// Proxy throughput.
	Mode     string        `json:"mode,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	Rounds   int           `json:"rounds,omitempty"`
	// Rule sync.
	Services  int `json:"services,omitempty"`
	Endpoints int `json:"endpoints,omitempty"`
	Runs      int `json:"runs,omitempty"`
}

// Result is what a child prints.
type Result struct {
	Proxy *bench.ProxyResult `json:"proxy,omitempty"`
	Syncs []time.Duration    `json:"syncs,omitempty"`
}

// ProxyThroughput measures, in a private network namespace, requests/s
// (a new connection per small request, one client) and MB/s (1 MiB
// responses over a kept-alive connection) to a backend directly and
// through a portal IP with the proxy in mode: rounds rounds, each of d on
// each of the four measurements, portal and direct alternating which goes
// first (bench.ProxyResult). bin is the kubelite binary.
func ProxyThroughput(ctx context.Context, bin, mode string, d time.Duration, rounds int) (bench.ProxyResult, error) {
	if err := checkProxySize(d, rounds); err != nil {
		return bench.ProxyResult{}, err
	}
	r, err := runChild(ctx, bin, Spec{Kind: "proxy", Mode: mode, Duration: d, Rounds: rounds},
		time.Duration(4*rounds)*d+time.Minute)
	if err != nil {
		return bench.ProxyResult{}, err
	}
	if r.Proxy == nil {
		return bench.ProxyResult{}, errors.New("netbench child: no proxy result")
	}
	p := r.Proxy
	for _, s := range [][]float64{p.PortalReqPerSec, p.DirectReqPerSec, p.PortalMBPerSec, p.DirectMBPerSec} {
		if len(s) != rounds {
			return bench.ProxyResult{}, fmt.Errorf("netbench child: %d rounds measured, want %d", len(s), rounds)
		}
	}
	return *p, nil
}

// maxRounds bounds a proxy measurement's rounds (a child runs them all).
const maxRounds = 100

// checkProxySize refuses a proxy measurement no child could make: the
// parent before starting one, the child on a spec given by hand.
func checkProxySize(d time.Duration, rounds int) error {
	if rounds <= 0 || rounds > maxRounds || d <= 0 {
		return fmt.Errorf("proxy throughput: bad size: %d rounds of %v (want 1..%d rounds, a positive duration)", rounds, d, maxRounds)
	}
	return nil
}

// RulesSync programs services x endpoints in iptables from empty tables,
// runs times, in a private network namespace, and returns how long each
// full sync took (reading the store's objects, planning, iptables-restore).
func RulesSync(ctx context.Context, bin string, services, endpoints, runs int) ([]time.Duration, error) {
	r, err := runChild(ctx, bin, Spec{Kind: "rules-sync", Services: services, Endpoints: endpoints, Runs: runs},
		time.Duration(runs)*time.Minute+time.Minute)
	if err != nil {
		return nil, err
	}
	if len(r.Syncs) != runs {
		return nil, fmt.Errorf("netbench child: %d syncs measured, want %d", len(r.Syncs), runs)
	}
	return r.Syncs, nil
}

// runChild runs `bin bench --netns-child=SPEC` in a new network namespace
// and decodes its result.
func runChild(ctx context.Context, bin string, spec Spec, timeout time.Duration) (Result, error) {
	parent, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return Result{}, fmt.Errorf("read network namespace: %w", err)
	}
	js, err := json.Marshal(spec)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bench", "--netns-child="+string(js))
	cmd.Env = append(os.Environ(), parentEnv+"="+parent)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("%s in a new network namespace: %w: %s", spec.Kind, err, lastLines(stderr.String(), 5))
	}
	var r Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return Result{}, fmt.Errorf("%s: decode child result: %w", spec.Kind, err)
	}
	return r, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
