package etcd_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
)

// captureLogs records every logrus line at level >= Debug for the test.
func captureLogs(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	std := logrus.StandardLogger()
	out, lvl, f := std.Out, std.GetLevel(), std.Formatter
	std.SetOutput(&buf)
	std.SetLevel(logrus.DebugLevel)
	std.SetFormatter(&logrus.TextFormatter{DisableTimestamp: true})
	t.Cleanup(func() { std.SetOutput(out); std.SetLevel(lvl); std.SetFormatter(f) })
	return &buf
}

// TestEmbeddedLifecycle starts etcd, writes through a client, stops it
// cleanly without error-level logs, restarts it on the same data dir and
// finds the data there.
func TestEmbeddedLifecycle(t *testing.T) {
	buf := captureLogs(t)
	dir := t.TempDir()
	run := func(f func(cli *clientv3.Client)) {
		e := etcd.NewEmbedded(etcd.Config{Log: logrus.WithField("component", "etcd"), DataDir: dir, ClientAddr: etcdtest.FreeAddr(t), PeerAddr: etcdtest.FreeAddr(t), UnsafeNoFsync: true})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		started := make(chan struct{})
		go func() { done <- e.Run(ctx, func() { close(started) }) }()
		select {
		case <-started:
		case err := <-done:
			t.Fatalf("etcd did not start: %v", err)
		}
		select {
		case <-e.Ready():
		default:
			t.Fatalf("Ready not closed after started")
		}
		cli, err := etcd.NewClient(e.Endpoints(), nil)
		if err != nil {
			t.Fatal(err)
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := etcd.WaitReady(wctx, cli); err != nil {
			t.Fatal(err)
		}
		wcancel()
		f(cli)
		cli.Close()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run returned %v after a clean stop", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("etcd did not stop")
		}
	}
	run(func(cli *clientv3.Client) {
		if _, err := cli.Put(context.Background(), "/registry/x", "1"); err != nil {
			t.Fatal(err)
		}
	})
	run(func(cli *clientv3.Client) {
		r, err := cli.Get(context.Background(), "/registry/x")
		if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "1" {
			t.Fatalf("after restart: %v %v", r, err)
		}
	})
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, "level=error") || strings.Contains(line, "level=warning") {
			t.Errorf("a clean start and stop logged at warning or error level: %s", line)
		}
	}
	if testing.Verbose() {
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.Contains(l, "closed") {
				t.Log(l)
			}
		}
	}
	// etcd v3.7 logs "server closed" on every Close: it must be there, at debug.
	if !strings.Contains(buf.String(), "level=debug msg=\"setting up serving from embedded etcd failed.\"") {
		t.Errorf("expected etcd's shutdown noise at debug level; the log was:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "component=etcd") {
		t.Errorf("etcd logs not routed to logrus with component=etcd")
	}
}

func TestStartFailsOnBadAddress(t *testing.T) {
	e := etcd.NewEmbedded(etcd.Config{DataDir: t.TempDir(), ClientAddr: "not-an-address", PeerAddr: etcdtest.FreeAddr(t)})
	err := e.Run(context.Background(), func() { t.Error("started called") })
	if err == nil || !strings.Contains(err.Error(), "not-an-address") {
		t.Fatalf("want an error naming the address, got %v", err)
	}
}

func TestStartFailsOnPortInUse(t *testing.T) {
	t.Parallel()
	s := etcdtest.Start(t, "")
	taken := strings.TrimPrefix(s.Endpoints()[0], "http://")
	e := etcd.NewEmbedded(etcd.Config{DataDir: t.TempDir(), ClientAddr: taken, PeerAddr: etcdtest.FreeAddr(t)})
	err := e.Run(context.Background(), func() { t.Error("started called") })
	if err == nil {
		t.Fatal("want an error when the client port is taken")
	}
}

func TestParseServers(t *testing.T) {
	cases := []struct {
		in   string
		want string
		err  bool
	}{
		{"http://127.0.0.1:4001", "http://127.0.0.1:4001", false},
		{"10.0.0.1:4001, http://10.0.0.2:4001", "http://10.0.0.1:4001,http://10.0.0.2:4001", false},
		{"", "", true},
		{"ftp://x:1", "", true},
	}
	for _, c := range cases {
		got, err := etcd.ParseServers(c.in)
		if (err != nil) != c.err {
			t.Errorf("%q: err %v", c.in, err)
			continue
		}
		if !c.err && strings.Join(got, ",") != c.want {
			t.Errorf("%q: got %v want %s", c.in, got, c.want)
		}
	}
}

func TestExternalWaitsForCluster(t *testing.T) {
	t.Parallel()
	s := etcdtest.Start(t, "")
	x := &etcd.External{Client: s.Client(t)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- x.Run(ctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A cluster that is not there: Run fails after its timeout.
	cli, err := etcd.NewClient([]string{"http://" + etcdtest.FreeAddr(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	bad := &etcd.External{Client: cli, Timeout: 500 * time.Millisecond}
	err = bad.Run(context.Background(), func() { t.Error("started") })
	if err == nil {
		t.Fatal("want an error for an unreachable cluster")
	}
	// It ends with the likely cause, not only the client's deadline.
	if !strings.Contains(err.Error(), "after 500ms; likely cause: nothing listens on ") {
		t.Errorf("error %q does not say the likely cause", err)
	}
}

func TestEndpointsBeforeRun(t *testing.T) {
	cases := map[string]string{
		"":               "http://127.0.0.1:4001",
		"0.0.0.0:4001":   "http://127.0.0.1:4001",
		":4001":          "http://127.0.0.1:4001",
		"10.0.0.5:2379":  "http://10.0.0.5:2379",
		"127.0.0.1:4001": "http://127.0.0.1:4001",
	}
	for addr, want := range cases {
		got := etcd.NewEmbedded(etcd.Config{ClientAddr: addr}).Endpoints()
		if len(got) != 1 || got[0] != want {
			t.Errorf("%q: %v, want %s", addr, got, want)
		}
	}
}
