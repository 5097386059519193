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
	if _, _, err := p.syncObjects(nil, nil); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("sync with failing restore: err = %v", err)
	}
	if _, _, err := p.syncObjects(nil, nil); err != nil {
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
	if err := fake.Restore([]byte("*nat\n:DOCKER - [0:0]\n-A OUTPUT -j DOCKER\nCOMMIT\n")); err != nil {
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
		if _, _, err := p.syncObjects([]*api.Service{svc}, []*api.Endpoints{ep}); err != nil {
			t.Fatalf("sync %s: %v", mode, err)
		}
	}
	if err := Cleanup(fake); err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	for _, table := range []netfilter.Table{netfilter.TableNAT, netfilter.TableFilter} {
		save, _ := fake.Save(table)
		if s := string(save); strings.Contains(s, "KUBE") {
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
