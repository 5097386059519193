package registry_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/registry"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
	"kubelite/internal/testutil"
)

// twoMasters starts two registries, each with its own etcd client, over one
// etcd, sharing portal IP claims as two masters do.
func twoMasters(t *testing.T, portalNet string) (*etcdtest.Server, [2]*registry.Registry) {
	t.Helper()
	srv := etcdtest.Start(t, "")
	var regs [2]*registry.Registry
	for i := range regs {
		cli := srv.Client(t)
		regs[i] = start(t, etcdstore.New(cli), registry.Config{PortalNet: cidr(portalNet), PortalClaims: etcd.NewClaims(cli, "")})
	}
	return srv, regs
}

// TestPortalIPsDistinctAcrossMasters: 100 services created at once through
// two registries on one etcd get 100 distinct portal IPs, from a /24 small
// enough that the two masters' random picks collide.
func TestPortalIPsDistinctAcrossMasters(t *testing.T) {
	t.Parallel()
	srv, regs := twoMasters(t, "10.254.7.0/24")
	c := ctx(t)
	const n = 100
	ips := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := regs[i%2].Create(c, svc(fmt.Sprintf("s%03d", i), ""))
			if err != nil {
				errs[i] = err
				return
			}
			ips[i] = o.(*api.Service).PortalIP
		}()
	}
	wg.Wait()
	owner := map[string]int{}
	for i, ip := range ips {
		if errs[i] != nil {
			t.Fatalf("create s%03d: %v", i, errs[i])
		}
		if j, dup := owner[ip]; dup {
			t.Fatalf("s%03d and s%03d both got %s", j, i, ip)
		}
		owner[ip] = i
	}
	claims, err := etcd.NewClaims(srv.Client(t), "").List(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(claims) != n {
		t.Fatalf("%d claims for %d services", len(claims), n)
	}
	for ip, i := range owner {
		if want := fmt.Sprintf("default/s%03d", i); claims[ip] != want {
			t.Fatalf("claim of %s held by %q, want %q", ip, claims[ip], want)
		}
	}
	t.Logf("%d services through 2 masters: %d distinct portal IPs", n, len(owner))
}

// TestPortalIPSpecificRace: two masters asked for one address at once give
// it to exactly one service.
func TestPortalIPSpecificRace(t *testing.T) {
	t.Parallel()
	_, regs := twoMasters(t, "10.254.0.0/24")
	c := ctx(t)
	for round := 0; round < 10; round++ {
		ip := fmt.Sprintf("10.254.0.%d", 10+round)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range regs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = regs[i].Create(c, svc(fmt.Sprintf("r%d-%d", round, i), ip))
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
			} else if !api.IsInvalid(err) {
				t.Fatalf("round %d: %v, want 422", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %s went to %d services (%v)", round, ip, ok, errs)
		}
	}
}

// TestPortalIPFreedOnOtherMaster: an address freed by a delete through one
// master is handed out again by the other, whose own view was full.
func TestPortalIPFreedOnOtherMaster(t *testing.T) {
	t.Parallel()
	_, regs := twoMasters(t, "10.254.0.0/29") // 6 usable addresses
	c := ctx(t)
	for i := 0; i < 6; i++ {
		if _, err := regs[0].Create(c, svc(fmt.Sprintf("s%d", i), "")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := regs[1].Create(c, svc("extra", "")); err == nil {
		t.Fatal("a 7th service got an address of a /29")
	}
	gone, err := regs[1].Delete(c, api.Services, "default", "s3")
	if err != nil {
		t.Fatal(err)
	}
	o, err := regs[0].Create(c, svc("again", ""))
	if err != nil {
		t.Fatalf("create after a delete on the other master: %v", err)
	}
	if got, want := o.(*api.Service).PortalIP, gone.(*api.Service).PortalIP; got != want {
		t.Fatalf("got %s, want the freed %s", got, want)
	}
	if net.ParseIP(o.(*api.Service).PortalIP) == nil {
		t.Fatal("no portal IP")
	}
}

// TestPortalClaimsMigrated: services stored before claims existed get
// their addresses claimed when the registry starts.
func TestPortalClaimsMigrated(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	raw := etcdstore.New(cli)
	old := svc("old", "10.254.0.5")
	if _, err := raw.Create(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	claims := etcd.NewClaims(cli, "")
	r := start(t, raw, registry.Config{PortalNet: cidr("10.254.0.0/24"), PortalClaims: claims})
	c := ctx(t)
	got, err := claims.List(c)
	if err != nil {
		t.Fatal(err)
	}
	if got["10.254.0.5"] != "default/old" {
		t.Fatalf("claims %v, want 10.254.0.5 held by default/old", got)
	}
	if _, err := r.Create(c, svc("new", "10.254.0.5")); !api.IsInvalid(err) {
		t.Fatalf("the stored service's address was handed out again: %v", err)
	}
}

// Write and list timeouts of the quorum tests: shorter than the defaults
// (3 s, 10 s) so the unit tier is fast; what is tested is that each request
// ends with a 503 once its bound is over, whatever the bound.
const (
	quorumWriteTimeout = 500 * time.Millisecond
	quorumListTimeout  = time.Second
	// quorumLimit: the bound, the diagnosis (1 s at most) and room for a
	// loaded machine; far below the minute a hanging request would take.
	quorumLimit = 5 * time.Second
)

// TestQuorumLossIs503: etcd stops under a running registry (a master that
// lost its quorum): every kind of write answers 503 naming the lost quorum
// within its bound, none hangs.
func TestQuorumLossIs503(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	r := start(t, etcdstore.New(cli), registry.Config{
		PortalClaims: etcd.NewClaims(cli, ""),
		Diagnose:     func(ctx context.Context) string { return etcd.DiagnoseQuorum(ctx, cli) },
		WriteTimeout: quorumWriteTimeout,
		ListTimeout:  quorumListTimeout,
	})
	c := ctx(t)
	if _, err := r.Create(c, svc("before", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(c, pod("p1")); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	// Each request has a minute, as a patient client would.
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	writes := []struct {
		name string
		do   func() error
	}{
		{"create service", func() error { _, err := r.Create(c, svc("after", "")); return err }},
		{"create pod", func() error { _, err := r.Create(c, pod("p2")); return err }},
		{"update pod", func() error {
			p := pod("p1")
			p.Labels = map[string]string{"x": "y"}
			_, err := r.Update(c, p)
			return err
		}},
		{"delete service", func() error { _, err := r.Delete(c, api.Services, "default", "before"); return err }},
		{"list pods", func() error { _, _, err := r.List(c, api.Pods, store.ListOptions{}); return err }},
	}
	// The requests are independent: they wait out their bounds side by side.
	t.Run("writes", func(t *testing.T) {
		for _, w := range writes {
			t.Run(w.name, func(t *testing.T) {
				t.Parallel()
				start := time.Now()
				err := w.do()
				took := time.Since(start)
				st := api.StatusOf(err)
				t.Logf("%s without quorum: %d after %s: %s", w.name, st.Code, took.Round(time.Millisecond), st.Message)
				if st.Code != 503 || !strings.Contains(st.Message, "quorum lost") {
					t.Errorf("%s: %d %q, want 503 naming the lost quorum", w.name, st.Code, st.Message)
				}
				limit := quorumLimit
				if strings.HasPrefix(w.name, "list") {
					limit += quorumListTimeout
				}
				if took > limit {
					t.Errorf("%s took %s, want under %s", w.name, took, limit)
				}
			})
		}
	})
}

// TestQuorumLossThreeMembers: three masters' etcd members, two stopped:
// the survivor's registry answers writes with 503 naming the lost quorum
// within their bound; with one member back, writes succeed again.
func TestQuorumLossThreeMembers(t *testing.T) {
	t.Parallel()
	cl := etcdtest.StartCluster(t, 3)
	cli, err := etcd.NewClient(cl.Endpoints()[:1], nil) // the survivor's own client
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	r := start(t, etcdstore.New(cli), registry.Config{
		PortalClaims: etcd.NewClaims(cli, ""),
		Diagnose:     func(ctx context.Context) string { return etcd.DiagnoseQuorum(ctx, cli) },
		WriteTimeout: quorumWriteTimeout,
	})
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.Create(c, svc("before", "")); err != nil {
		t.Fatal(err)
	}
	cl.Stop(1)
	cl.Stop(2)
	// The survivor's leader steps down one election timeout after it lost
	// its peers; from then on the quorum is lost as etcd sees it.
	testutil.Eventually(t, 10*time.Second, func() bool {
		dctx, dcancel := context.WithTimeout(c, time.Second)
		defer dcancel()
		return strings.Contains(etcd.DiagnoseQuorum(dctx, cli), "have no leader")
	}, "the survivor still sees a leader")
	for i, w := range []func() error{
		func() error { _, err := r.Create(c, svc("after", "")); return err },
		func() error { _, err := r.Create(c, pod("p1")); return err },
	} {
		start := time.Now()
		err := w()
		took := time.Since(start)
		st := api.StatusOf(err)
		t.Logf("write %d with 1 of 3 members: %d after %s: %s", i, st.Code, took.Round(time.Millisecond), st.Message)
		if st.Code != 503 || !strings.Contains(st.Message, "quorum lost") {
			t.Errorf("write %d: %d %q, want 503 naming the lost quorum", i, st.Code, st.Message)
		}
		if took > quorumLimit {
			t.Errorf("write %d took %s, want under %s", i, took, quorumLimit)
		}
	}
	cl.Start(2)
	if _, err := r.Create(c, svc("recovered", "")); err != nil {
		t.Fatalf("write with 2 of 3 members back: %v", err)
	}
}
