package podnet

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/netfilter"
)

func newFakes(t *testing.T) (*Syncer, *FakeRoutes, *netfilter.Fake) {
	t.Helper()
	r, ipt := &FakeRoutes{}, netfilter.NewFake()
	s, err := New(self, r, ipt)
	if err != nil {
		t.Fatal(err)
	}
	return s, r, ipt
}

func TestSyncConverges(t *testing.T) {
	ctx := context.Background()
	s, r, ipt := newFakes(t)
	// Docker was there first: its own rules at the top of both chains.
	for _, c := range []struct {
		table netfilter.Table
		chain netfilter.Chain
		args  []string
	}{
		{netfilter.TableNAT, netfilter.ChainPostrouting, []string{"-s", "10.244.1.0/24", "!", "-o", "br-1", "-j", "MASQUERADE"}},
		{netfilter.TableFilter, netfilter.ChainForward, []string{"-o", "br-1", "-j", "ACCEPT"}},
	} {
		if _, err := ipt.EnsureRule(netfilter.Append, c.table, c.chain, c.args...); err != nil {
			t.Fatal(err)
		}
	}
	three := []Minion{
		minion("m1", "198.18.0.11", "10.244.1.0/24"),
		minion("m2", "198.18.0.12", "10.244.2.0/24"),
		minion("m3", "198.18.0.13", "10.244.3.0/24"),
	}
	if _, err := s.Sync(ctx, three); err != nil {
		t.Fatal(err)
	}
	wantJumpsFirst(t, ipt)
	if got := ipt.ChainRules(netfilter.TableNAT, NATChain); len(got) != 3 {
		t.Errorf("nat chain: %q", got)
	}

	// Again: nothing changes.
	r.Log = nil
	if _, err := s.Sync(ctx, three); err != nil {
		t.Fatal(err)
	}
	if len(r.Log) != 0 {
		t.Errorf("second sync changed routes: %q", r.Log)
	}
	if n := len(ipt.ChainRules(netfilter.TableNAT, netfilter.ChainPostrouting)); n != 2 {
		t.Errorf("second sync: POSTROUTING has %d rules, want 2", n)
	}

	// Docker inserts its rule first again, m3 goes, m2 moves.
	if err := ipt.DeleteRule(netfilter.TableNAT, netfilter.ChainPostrouting, "-s", "10.244.1.0/24", "!", "-o", "br-1", "-j", "MASQUERADE"); err != nil {
		t.Fatal(err)
	}
	if _, err := ipt.EnsureRule(netfilter.Prepend, netfilter.TableNAT, netfilter.ChainPostrouting, "-s", "10.244.1.0/24", "!", "-o", "br-1", "-j", "MASQUERADE"); err != nil {
		t.Fatal(err)
	}
	r.Log = nil
	if _, err := s.Sync(ctx, []Minion{three[0], minion("m2", "198.18.0.22", "10.244.2.0/24")}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"del 10.244.3.0/24 via 198.18.0.13", "set 10.244.2.0/24 via 198.18.0.22"}; !reflect.DeepEqual(r.Log, want) {
		t.Errorf("routes changed %q, want %q", r.Log, want)
	}
	wantJumpsFirst(t, ipt)

	// Teardown leaves only Docker's rules.
	if err := s.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.List(ctx); len(got) != 0 {
		t.Errorf("routes left: %v", got)
	}
	for _, c := range []struct {
		table       netfilter.Table
		chain, mine netfilter.Chain
	}{{netfilter.TableNAT, netfilter.ChainPostrouting, NATChain}, {netfilter.TableFilter, netfilter.ChainForward, FilterChain}} {
		if ipt.HasChain(c.table, c.mine) {
			t.Errorf("chain %s left", c.mine)
		}
		if got := ipt.ChainRules(c.table, c.chain); len(got) != 1 || strings.Contains(got[0], "KUBELITE") {
			t.Errorf("%s after teardown: %q", c.chain, got)
		}
	}
	if err := s.Teardown(ctx); err != nil {
		t.Errorf("second teardown: %v", err)
	}
}

func wantJumpsFirst(t *testing.T, ipt *netfilter.Fake) {
	t.Helper()
	for _, c := range []struct {
		table netfilter.Table
		chain netfilter.Chain
		jump  string
	}{{netfilter.TableNAT, netfilter.ChainPostrouting, natJump}, {netfilter.TableFilter, netfilter.ChainForward, filterJump}} {
		rules := ipt.ChainRules(c.table, c.chain)
		if len(rules) == 0 || rules[0] != c.jump {
			t.Errorf("%s: %q, want %q first", c.chain, rules, c.jump)
		}
		n := 0
		for _, r := range rules {
			if r == c.jump {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d jumps, want 1", c.chain, n)
		}
	}
}

func TestSyncReportsErrorsAndGoesOn(t *testing.T) {
	s, r, ipt := newFakes(t)
	r.Err = errors.New("netlink down")
	_, err := s.Sync(context.Background(), []Minion{minion("m2", "198.18.0.12", "10.244.2.0/24")})
	if err == nil || !strings.Contains(err.Error(), "netlink down") {
		t.Fatalf("want the routes error, got %v", err)
	}
	if !ipt.HasChain(netfilter.TableNAT, NATChain) {
		t.Error("rules not synced after a routes error")
	}
}

func TestNewRejectsBadCIDR(t *testing.T) {
	for _, c := range []netip.Prefix{{}, netip.MustParsePrefix("fd00::/64")} {
		if _, err := New(Config{ClusterCIDR: c}, &FakeRoutes{}, netfilter.NewFake()); err == nil {
			t.Errorf("%v: want an error", c)
		}
	}
}

// countingRoutes counts the syncs (each lists the routes once).
type countingRoutes struct {
	*FakeRoutes
	lists atomic.Int32
}

func (c *countingRoutes) List(ctx context.Context) ([]Route, error) {
	c.lists.Add(1)
	return c.FakeRoutes.List(ctx)
}

func TestRun(t *testing.T) {
	r := &countingRoutes{FakeRoutes: &FakeRoutes{}}
	s, err := New(self, r, netfilter.NewFake())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	updates := make(chan []Minion)
	resync := make(chan time.Time)
	done := make(chan error)
	go func() { done <- s.Run(ctx, updates, resync) }()
	resync <- time.Time{} // no list yet: no sync
	updates <- []Minion{minion("m2", "198.18.0.12", "10.244.2.0/24")}
	updates <- []Minion{minion("m2", "198.18.0.22", "10.244.2.0/24")}
	close(updates)
	resync <- time.Time{} // the updates ended: resyncs go on with the last list
	resync <- time.Time{}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := r.lists.Load(); n != 4 {
		t.Errorf("%d syncs, want 4", n)
	}
	want := []string{"set 10.244.2.0/24 via 198.18.0.12", "set 10.244.2.0/24 via 198.18.0.22"}
	if !reflect.DeepEqual(r.Log, want) {
		t.Errorf("routes log %q, want %q", r.Log, want)
	}
}
