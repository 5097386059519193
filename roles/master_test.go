package roles

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kubelite/config"
	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/pki"
	"kubelite/internal/testutil"
)

// testMaster is an --insecure master on free loopback ports: with an
// embedded etcd when etcdServers is empty, else a client of them.
func testMaster(t *testing.T, dataDir string, etcdServers []string) *config.Master {
	t.Helper()
	_, port, _ := net.SplitHostPort(etcdtest.FreeAddr(t))
	p, _ := strconv.Atoi(port)
	cfg := &config.Master{
		Address: "127.0.0.1", Port: p, DataDir: dataDir, Insecure: true,
		EtcdEmbed: len(etcdServers) == 0, EtcdServers: etcdServers,
		EtcdAddr: etcdtest.FreeAddr(t), EtcdPeerAddr: etcdtest.FreeAddr(t),
		PortalNet: netip.MustParsePrefix(config.DefaultPortalNet), ClusterCIDR: netip.MustParsePrefix(config.DefaultClusterCIDR),
		NodeMonitorGracePeriod: 40 * time.Second, PodEvictionTimeout: time.Minute, LeaderLease: 2 * time.Second,
	}
	return cfg
}

// runMaster runs Master(cfg) until the returned stop is called (or the
// test ends), and waits until its API answers.
func runMaster(t *testing.T, cfg *config.Master) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Master(ctx, cfg) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("master: %v", err)
		}
	}
	t.Cleanup(stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + cfg.APIAddr() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return stop
			}
		}
		select {
		case err := <-done:
			t.Fatalf("master stopped before serving: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("master not serving after 30s")
		}
	}
}

// leaderCheck returns the "leader" entry of cfg's /validate.
func leaderCheck(t *testing.T, cfg *config.Master) string {
	t.Helper()
	resp, err := http.Get("http://" + cfg.APIAddr() + "/validate")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []struct{ Component, Health, Err string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, c := range out {
		if c.Component == "leader" {
			return c.Health + " " + c.Err
		}
	}
	return "missing"
}

// TestMastersShareOneLeader: two masters on one etcd: one leader, visible
// from both; when the leader stops (it resigns) the other takes over at
// once; kill -9 of a leader is TestElectionTakeover in internal/etcd.
func TestMastersShareOneLeader(t *testing.T) {
	srv := etcdtest.Start(t, "")
	m1 := testMaster(t, t.TempDir(), srv.Endpoints())
	stop1 := runMaster(t, m1)
	m2 := testMaster(t, t.TempDir(), srv.Endpoints())
	runMaster(t, m2)

	el, err := etcd.NewElection(srv.Client(t), etcd.ElectionConfig{Identity: "observer"})
	if err != nil {
		t.Fatal(err)
	}
	leader := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		id, _ := el.Leader(ctx)
		return id
	}
	waitLeader := func(addr string, within time.Duration) time.Duration {
		t.Helper()
		return testutil.Eventually(t, within, func() error {
			if l := leader(); !strings.HasSuffix(l, " "+addr) {
				return fmt.Errorf("leader %q", l)
			}
			return nil
		}, "the master on %s leads", addr)
	}
	waitLeader(m1.APIAddr(), 10*time.Second)
	for _, m := range []*config.Master{m1, m2} {
		if got := leaderCheck(t, m); got != "healthy " {
			t.Fatalf("leader check on %s: %q", m.APIAddr(), got)
		}
	}
	stop1()
	took := waitLeader(m2.APIAddr(), time.Second)
	t.Logf("takeover after the leader stopped: %s", took.Round(time.Millisecond))
	if got := leaderCheck(t, m2); got != "healthy " {
		t.Fatalf("leader check on %s: %q", m2.APIAddr(), got)
	}
}

// TestDataDirInUse: a second master on the data dir of a running one fails
// at once, naming the process that holds it.
func TestDataDirInUse(t *testing.T) {
	m1 := testMaster(t, t.TempDir(), nil)
	runMaster(t, m1)
	m2 := testMaster(t, m1.DataDir, nil)
	start := time.Now()
	err := Master(context.Background(), m2)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "in use by process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("a master on a data dir in use: %v", err)
	}
	if took > 2*time.Second {
		t.Fatalf("refusal took %s", took)
	}
	t.Logf("refused in %s: %v", took.Round(time.Millisecond), err)
}

// TestMasterJoin: a second master joins a running one with the master
// token: its etcd member is added, it receives the cluster's identity, and
// both masters' etcd members hold the same data; a wrong token is refused
// before anything starts.
func TestMasterJoin(t *testing.T) {
	t.Parallel()
	m1 := testMaster(t, t.TempDir(), nil)
	m1.Insecure = false
	runMaster(t, m1)
	masterToken, err := pki.ReadToken(m1.DataDir, true)
	if err != nil {
		t.Fatal(err)
	}
	minionToken, err := pki.ReadToken(m1.DataDir, false)
	if err != nil {
		t.Fatal(err)
	}

	// The minions' token cannot make a master.
	bad := testMaster(t, t.TempDir(), nil)
	bad.Insecure, bad.Join, bad.JoinToken = false, m1.APIAddr(), minionToken
	if err := Master(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "wrong or missing master token") {
		t.Fatalf("join with the minions' token: %v", err)
	}

	m2 := testMaster(t, t.TempDir(), nil)
	m2.Insecure, m2.Join, m2.JoinToken = false, m1.APIAddr(), masterToken
	start := time.Now()
	runMaster(t, m2)
	t.Logf("second master joined and serving after %s", time.Since(start).Round(time.Millisecond))

	for _, f := range []string{pki.CACertFile, pki.CAKeyFile, pki.TokenFile, pki.MasterTokenFile, pki.AdminTokenFile} {
		a, _ := os.ReadFile(filepath.Join(pki.PKIDir(m1.DataDir), f))
		b, _ := os.ReadFile(filepath.Join(pki.PKIDir(m2.DataDir), f))
		if len(a) == 0 || string(a) != string(b) {
			t.Fatalf("%s differs between the masters", f)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli1, err := etcd.NewClient([]string{"http://" + m1.EtcdAddr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cli1.Close()
	cli2, err := etcd.NewClient([]string{"http://" + m2.EtcdAddr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cli2.Close()
	members, err := etcd.Members(ctx, cli2)
	if err != nil {
		t.Fatal(err)
	}
	healthy := 0
	for _, m := range members {
		if m.Healthy {
			healthy++
		}
	}
	if len(members) != 2 || healthy != 2 {
		t.Fatalf("members %+v, want 2 healthy", members)
	}
	// Right after a join etcd may drop a proposal ("raft proposal dropped":
	// its leader changing or the new member being promoted); a client tries
	// again, as the API's clients do after its 503.
	for {
		_, err := cli1.Put(ctx, "/kubelite/test", "from m1")
		if err == nil {
			break
		}
		if ctx.Err() != nil || !strings.Contains(err.Error(), "proposal dropped") {
			t.Fatal(err)
		}
		t.Logf("put: %v; again", err)
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := cli2.Get(ctx, "/kubelite/test")
	if err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "from m1" {
		t.Fatalf("m2's member reads %v %v", resp, err)
	}
}

// TestRestore: a snapshot of one master's etcd brings the cluster back in
// a new data dir: the objects are there, with their portal IPs.
func TestRestore(t *testing.T) {
	m1 := testMaster(t, t.TempDir(), nil)
	stop1 := runMaster(t, m1)
	body := `{"kind":"Service","apiVersion":"v1beta1","id":"web","port":80,"selector":{"name":"web"}}`
	resp, err := http.Post("http://"+m1.APIAddr()+"/api/v1beta1/services", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var svc struct{ PortalIP string }
	json.NewDecoder(resp.Body).Decode(&svc)
	resp.Body.Close()
	if resp.StatusCode != 201 && resp.StatusCode != 200 || svc.PortalIP == "" {
		t.Fatalf("create service: %d %+v", resp.StatusCode, svc)
	}
	cli, err := etcd.NewClient([]string{"http://" + m1.EtcdAddr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "snap.db")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := etcd.SaveSnapshot(ctx, cli, f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cli.Close()
	stop1()

	m2 := testMaster(t, t.TempDir(), nil)
	m2.Restore = file
	runMaster(t, m2)
	resp, err = http.Get("http://" + m2.APIAddr() + "/api/v1beta1/services/web")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ PortalIP string }
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != 200 || got.PortalIP != svc.PortalIP {
		t.Fatalf("restored service: %d %+v, want portal IP %s", resp.StatusCode, got, svc.PortalIP)
	}
	// A secure restore needs the old master's identity in the new data dir.
	m3 := testMaster(t, t.TempDir(), nil)
	m3.Insecure, m3.Restore = false, file
	if err := Master(context.Background(), m3); err == nil || !strings.Contains(err.Error(), "copy the old master's DATA-DIR/pki") {
		t.Fatalf("secure restore without the old identity: %v", err)
	}
}
