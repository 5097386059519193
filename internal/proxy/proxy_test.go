package proxy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/netfilter"
	"kubelite/internal/store/memory"
)

// runFake runs a proxy on a memory store and the fake iptables; syncs are
// delivered on the returned channel.
func runFake(t *testing.T, mode Mode, st *memory.Store, fake *netfilter.Fake) <-chan SyncResult {
	t.Helper()
	results := make(chan SyncResult, 100)
	p, err := New(Config{Store: st, Mode: mode, Netfilter: fake, SyncPeriod: time.Hour,
		OnSync: func(r SyncResult) { results <- r }})
	if err != nil {
		t.Fatal(err)
	}
	p.listen = func(svcs []service, _ map[string]int) (map[string]int, []error) {
		out := map[string]int{}
		for i, s := range svcs {
			out[s.Name] = 40000 + i
		}
		return out, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- p.Run(ctx, func() { close(started) }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("proxy did not start")
	}
	return results
}

// next waits for a sync that saw at least rv.
func next(t *testing.T, results <-chan SyncResult, rv uint64) SyncResult {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case r := <-results:
			if r.ResourceVersion >= rv {
				return r
			}
		case <-timeout:
			t.Fatalf("no sync of resourceVersion %d", rv)
		}
	}
}

func TestRunFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	fake := netfilter.NewFake()
	if _, err := st.Create(ctx, &api.Service{TypeMeta: api.TypeMeta{ID: "web", Namespace: "default"}, Port: 80, PortalIP: "10.254.0.1"}); err != nil {
		t.Fatal(err)
	}
	results := runFake(t, ModeIptables, st, fake)
	if r := next(t, results, 0); r.Err != nil || r.Services != 1 {
		t.Fatalf("first sync = %+v", r)
	}
	if got := fake.ChainRules(netfilter.TableFilter, chainServices); len(got) != 1 || !strings.Contains(got[0], "REJECT") {
		t.Fatalf("service without endpoints: filter rules %q, want one REJECT", got)
	}
	ep, err := st.Create(ctx, &api.Endpoints{TypeMeta: api.TypeMeta{ID: "web", Namespace: "default"}, Endpoints: []string{"10.244.1.1:80"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := next(t, results, ep.Meta().ResourceVersion); r.Err != nil {
		t.Fatalf("sync after endpoints: %v", r.Err)
	}
	if got := fake.ChainRules(netfilter.TableNAT, chainServices); len(got) != 1 || !strings.Contains(got[0], "10.254.0.1/32") {
		t.Fatalf("portal rules %q, want one for 10.254.0.1", got)
	}
	if got := fake.ChainRules(netfilter.TableFilter, chainServices); len(got) != 0 {
		t.Fatalf("filter rules %q, want none once endpoints exist", got)
	}
	restores := len(fake.Restores)
	if _, err := st.Delete(ctx, api.Services, "default", "web"); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(5 * time.Second)
	for len(fake.ChainRules(netfilter.TableNAT, chainServices)) != 0 {
		select {
		case <-results:
		case <-timeout:
			t.Fatalf("portal rule still there after the service was deleted")
		}
	}
	if len(fake.Restores) == restores {
		t.Fatalf("no restore after delete")
	}
	for _, c := range []netfilter.Chain{svcChain(service{Name: "default/web", Protocol: "tcp"})} {
		if fake.HasChain(netfilter.TableNAT, c) {
			t.Errorf("chain %s of the deleted service remains", c)
		}
	}
}

func TestRunRetriesAFailedRestore(t *testing.T) {
	st := memory.New()
	fake := netfilter.NewFake()
	fake.RestoreErr = errors.New("boom")
	p, err := New(Config{Store: st, Mode: ModeIptables, Netfilter: fake})
	if err != nil {
		t.Fatal(err)
	}
	p.svcs, p.eps = nil, nil
	if _, _, err := p.syncObjects(nil, nil, false); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("sync with failing restore: err = %v", err)
	}
	if _, _, err := p.syncObjects(nil, nil, false); err != nil {
		t.Fatalf("second sync: %v", err)
	}
	if !fake.HasChain(netfilter.TableNAT, chainServices) {
		t.Fatalf("second sync did not write the chains")
	}
}

func TestModeNoneTouchesNothing(t *testing.T) {
	p, err := New(Config{Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, func() { close(started) }) }()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestCleanupOnFake(t *testing.T) {
	fake := netfilter.NewFake()
	// Chains of others: Docker's, and other kubelite parts' (podnet, a lab),
	// which share the KUBELITE- prefix but are not the proxy's.
	foreign := "*nat\n:DOCKER - [0:0]\n:KUBELITE-PODNET - [0:0]\n-A OUTPUT -j DOCKER\n-A KUBELITE-PODNET -j RETURN\nCOMMIT\n" +
		"*filter\n:KUBELITE-LAB-x - [0:0]\n-A KUBELITE-LAB-x -j DROP\nCOMMIT\n"
	if err := fake.Restore([]byte(foreign)); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{ModeUserspace, ModeIptables} { // leave both modes' chains behind
		p, err := New(Config{Store: nopStore{}, Mode: mode, Netfilter: fake})
		if err != nil {
			t.Fatal(err)
		}
		p.listen = func(svcs []service, _ map[string]int) (map[string]int, []error) {
			return map[string]int{"default/web": 40000}, nil
		}
		svc := &api.Service{TypeMeta: api.TypeMeta{ID: "web"}, Port: 80, PortalIP: "10.254.0.1"}
		ep := &api.Endpoints{TypeMeta: api.TypeMeta{ID: "web"}, Endpoints: []string{"10.244.1.1:80"}}
		if _, _, err := p.syncObjects([]*api.Service{svc}, []*api.Endpoints{ep}, true); err != nil {
			t.Fatalf("sync %s: %v", mode, err)
		}
	}
	for _, c := range []struct {
		table netfilter.Table
		chain netfilter.Chain
	}{{netfilter.TableNAT, "KUBELITE-PODNET"}, {netfilter.TableFilter, "KUBELITE-LAB-x"}} {
		if got := fake.ChainRules(c.table, c.chain); len(got) != 1 {
			t.Errorf("a sync touched %s chain %s, which is not the proxy's: %q", c.table, c.chain, got)
		}
	}
	if err := Cleanup(fake); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	for _, table := range []netfilter.Table{netfilter.TableNAT, netfilter.TableFilter} {
		save, _ := fake.Save(table)
		s := strings.NewReplacer(":KUBELITE-PODNET", "", "-A KUBELITE-PODNET -j RETURN", "", ":KUBELITE-LAB-x", "", "-A KUBELITE-LAB-x -j DROP", "").Replace(string(save))
		if strings.Contains(s, "KUBE") {
			t.Errorf("cleanup left kubelite rules in %s:\n%s", table, s)
		}
	}
	if got := fake.ChainRules(netfilter.TableNAT, netfilter.ChainOutput); len(got) != 1 || got[0] != "-j DOCKER" {
		t.Errorf("cleanup touched OUTPUT: %q", got)
	}
	if err := Cleanup(fake); err != nil {
		t.Errorf("second cleanup: %v", err)
	}
}

// TestIncrementalSyncWritesOnlyChanges: after a change of one service's
// endpoints, an incremental sync rewrites that service's chain and nothing
// else; removing a service deletes its chain.
func TestIncrementalSyncWritesOnlyChanges(t *testing.T) {
	fake := netfilter.NewFake()
	p, err := New(Config{Store: nopStore{}, Mode: ModeIptables, Netfilter: fake})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(id, portal string, eps ...string) (*api.Service, *api.Endpoints) {
		return &api.Service{TypeMeta: api.TypeMeta{ID: id, Namespace: "default"}, Port: 80, PortalIP: portal},
			&api.Endpoints{TypeMeta: api.TypeMeta{ID: id, Namespace: "default"}, Endpoints: eps}
	}
	a, aEp := mk("a", "10.254.0.1", "10.244.1.1:80")
	b, bEp := mk("b", "10.254.0.2", "10.244.2.1:80")
	if _, _, err := p.syncObjects([]*api.Service{a, b}, []*api.Endpoints{aEp, bEp}, true); err != nil {
		t.Fatal(err)
	}
	aChain := svcChain(service{Name: "default/a", Protocol: "tcp"})
	bChain := svcChain(service{Name: "default/b", Protocol: "tcp"})

	_, bEp2 := mk("b", "10.254.0.2", "10.244.2.1:80", "10.244.2.2:80")
	if _, _, err := p.syncObjects([]*api.Service{a, b}, []*api.Endpoints{aEp, bEp2}, false); err != nil {
		t.Fatal(err)
	}
	text := string(fake.LastRestore())
	if !strings.Contains(text, ":"+string(bChain)+" ") || !strings.Contains(text, "10.244.2.2:80") {
		t.Errorf("incremental restore lacks the changed chain:\n%s", text)
	}
	if strings.Contains(text, string(aChain)) || strings.Contains(text, string(chainServices)) {
		t.Errorf("incremental restore rewrote unchanged chains:\n%s", text)
	}
	if got := fake.ChainRules(netfilter.TableNAT, bChain); len(got) != 4 { // 2 hairpin + 2 DNAT
		t.Errorf("chain of b = %q, want 4 rules", got)
	}

	if _, _, err := p.syncObjects([]*api.Service{a}, []*api.Endpoints{aEp}, false); err != nil {
		t.Fatal(err)
	}
	text = string(fake.LastRestore())
	if !strings.Contains(text, "-X "+string(bChain)) || strings.Contains(text, ":"+string(aChain)) {
		t.Errorf("removing b: restore =\n%s\nwant b's chain deleted and a's untouched", text)
	}
	if fake.HasChain(netfilter.TableNAT, bChain) || !fake.HasChain(netfilter.TableNAT, aChain) {
		t.Errorf("after removing b: has a = %v, has b = %v", fake.HasChain(netfilter.TableNAT, aChain), fake.HasChain(netfilter.TableNAT, bChain))
	}
}
