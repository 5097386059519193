package netbench

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kubelite/internal/testutil"
)

// TestChildRefusesHostNamespace: run by hand (no parent namespace recorded,
// or the same one), the child touches nothing.
func TestChildRefusesHostNamespace(t *testing.T) {
	t.Setenv(parentEnv, "")
	var out bytes.Buffer
	err := Child(context.Background(), `{"kind":"rules-sync","services":1,"endpoints":1,"runs":1}`, &out)
	if err == nil || !strings.Contains(err.Error(), "namespace of its own") {
		t.Fatalf("Child outside a private namespace: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %q", out.String())
	}
}

// TestInPrivateNamespace runs both measurements, small, through the kubelite
// binary in a namespace of its own (root and iptables required).
func TestInPrivateNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	bin := testutil.KubeliteBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, mode := range []string{"iptables", "userspace"} {
		r, err := ProxyThroughput(ctx, bin, mode, 100*time.Millisecond, 2)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		for _, s := range [][]float64{r.PortalReqPerSec, r.DirectReqPerSec, r.PortalMBPerSec, r.DirectMBPerSec} {
			if len(s) != 2 || s[0] <= 0 || s[1] <= 0 {
				t.Errorf("%s: %+v", mode, r)
			}
		}
	}
	ds, err := RulesSync(ctx, bin, 50, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0] <= 0 || ds[1] <= 0 {
		t.Errorf("syncs %v", ds)
	}
	if _, err := ProxyThroughput(ctx, bin, "none", time.Millisecond, 1); err == nil {
		t.Error("proxy mode none measured")
	}
}

// TestProxyThroughputBadSize: a size no child could measure is refused
// before any child starts (the binary is never run).
func TestProxyThroughputBadSize(t *testing.T) {
	for _, c := range []struct {
		d      time.Duration
		rounds int
	}{{time.Second, 0}, {time.Second, -1}, {time.Second, maxRounds + 1}, {0, 3}, {-time.Second, 3}} {
		_, err := ProxyThroughput(context.Background(), "/nonexistent/kubelite", "iptables", c.d, c.rounds)
		if err == nil || !strings.Contains(err.Error(), "bad size") {
			t.Errorf("%d rounds of %v: %v", c.rounds, c.d, err)
		}
	}
}

// TestAlternate: portal and direct take turns going first, round by round,
// and each value lands in its own slice in round order.
func TestAlternate(t *testing.T) {
	const portal, direct = "http://10.254.0.200:80", "http://10.99.1.1:8090"
	for _, c := range []struct {
		rounds int
		order  string // P portal, D direct
	}{
		{1, "PD"},
		{2, "PDDP"},
		{3, "PDDPPD"},
		{4, "PDDPPDDP"},
	} {
		var order strings.Builder
		n := 0.0
		portalVals, directVals, err := alternate(c.rounds, portal, direct, func(url string) (float64, error) {
			n++
			switch url {
			case portal:
				order.WriteByte('P')
				return 100 + n, nil
			case direct:
				order.WriteByte('D')
				return n, nil
			}
			t.Fatalf("measured %s", url)
			return 0, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if order.String() != c.order {
			t.Errorf("%d rounds: order %s, want %s", c.rounds, order.String(), c.order)
		}
		if len(portalVals) != c.rounds || len(directVals) != c.rounds {
			t.Fatalf("%d rounds: %v %v", c.rounds, portalVals, directVals)
		}
		for i := range portalVals {
			if portalVals[i] < 100 || directVals[i] >= 100 {
				t.Errorf("%d rounds: values mixed up: portal %v, direct %v", c.rounds, portalVals, directVals)
			}
			if i > 0 && (portalVals[i] <= portalVals[i-1] || directVals[i] <= directVals[i-1]) {
				t.Errorf("%d rounds: not in round order: portal %v, direct %v", c.rounds, portalVals, directVals)
			}
		}
	}
}

// TestAlternateError: the first failure ends the run, naming its round and
// target.
func TestAlternateError(t *testing.T) {
	calls := 0
	_, _, err := alternate(3, "http://portal", "http://direct", func(url string) (float64, error) {
		calls++
		if calls == 4 { // round 2, the portal second
			return 0, errors.New("connection refused")
		}
		return 1, nil
	})
	if err == nil || !strings.Contains(err.Error(), "round 2, http://portal: connection refused") {
		t.Fatalf("err = %v", err)
	}
	if calls != 4 {
		t.Errorf("%d measurements after the failure's, want none", calls-4)
	}
}
