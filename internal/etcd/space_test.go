package etcd_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/api"
	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
	etcdstore "kubelite/internal/store/etcd"
	"kubelite/internal/testutil"
)

// runEmbedded runs cfg until the returned stop is called (or the test ends)
// and returns a network client of it.
func runEmbedded(t *testing.T, cfg etcd.Config) (*clientv3.Client, func()) {
	t.Helper()
	cfg.ClientAddr, cfg.PeerAddr, cfg.UnsafeNoFsync = etcdtest.FreeAddr(t), etcdtest.FreeAddr(t), true
	e := etcd.NewEmbedded(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, func() {}) }()
	select {
	case <-e.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("embedded etcd: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("embedded etcd not ready after 30s")
	}
	cli, err := etcd.NewClient(e.Endpoints(), nil)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cli.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("embedded etcd: %v", err)
		}
	}
	t.Cleanup(stop)
	return cli, stop
}

// fill updates one pod with 1 MiB values until etcd refuses; it returns
// the refusal.
func fill(t *testing.T, s *etcdstore.Store) error {
	t.Helper()
	c := context.Background()
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: "filler", Annotations: map[string]string{"x": ""}}}
	if _, err := s.Create(c, p); err != nil && !api.IsAlreadyExists(err) {
		return err
	}
	for i := 0; i < 200; i++ {
		p.Annotations["x"] = strings.Repeat(string(rune('a'+i%26)), 1<<20)
		if _, err := s.Update(c, p); err != nil {
			return err
		}
	}
	t.Fatal("200 MiB written into a 16 MiB quota without a refusal")
	return nil
}

// Issue 17 item 3: a full etcd refused every write with a 500, still after a
// restart, while health said healthy; nothing recovered it.
func TestHostileSpaceQuota(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := logrus.WithField("component", "etcd-test")
	cfg := etcd.Config{DataDir: dir, QuotaBackendBytes: 16 << 20, SpaceCheckInterval: time.Hour}
	cli, stop := runEmbedded(t, cfg)
	s := etcdstore.New(cli)
	c := context.Background()

	err := fill(t, s)
	if st := api.StatusOf(err); st.Code != http.StatusInsufficientStorage || !strings.Contains(st.Message, "kubelite") {
		t.Fatalf("write into a full etcd: %v (code %d), want 507 saying what kubelite does", err, st.Code)
	}
	if err := etcd.AlarmCheck(c, cli); err == nil || !strings.Contains(err.Error(), "NOSPACE") {
		t.Fatalf("AlarmCheck with a full quota = %v, want the NOSPACE alarm", err)
	}
	// Recovery by hand first (what the loop does).
	ok, err := etcd.RecoverSpace(c, cli, nil, log)
	if err != nil || !ok {
		t.Fatalf("RecoverSpace = %v, %v", ok, err)
	}
	if err := etcd.AlarmCheck(c, cli); err != nil {
		t.Fatalf("AlarmCheck after recovery: %v", err)
	}
	if _, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: "after"}}); err != nil {
		t.Fatalf("write after recovery: %v", err)
	}
	if ok, err := etcd.RecoverSpace(c, cli, nil, log); ok || err != nil {
		t.Fatalf("RecoverSpace without an alarm = %v, %v; want nothing done", ok, err)
	}

	// Fill again, restart (the alarm survives a restart), and let the
	// server's own loop recover: no manual step.
	if err := fill(t, s); api.StatusOf(err).Code != http.StatusInsufficientStorage {
		t.Fatalf("second fill: %v", err)
	}
	stop()
	cfg.SpaceCheckInterval = 200 * time.Millisecond
	cli, _ = runEmbedded(t, cfg)
	s = etcdstore.New(cli)
	testutil.Eventually(t, 30*time.Second, func() error {
		_, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: "after-restart"}})
		if api.IsAlreadyExists(err) {
			return nil
		}
		return err
	}, "a write after the restart")
	if err := etcd.AlarmCheck(c, cli); err != nil {
		t.Fatalf("AlarmCheck after automatic recovery: %v", err)
	}
}
