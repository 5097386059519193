package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"

	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
)

// TestLocalClientBeforeRun: a client made before the server runs fails a
// call with its context's error while the server is not there, and a call
// made while it starts is answered once it is ready.
func TestLocalClientBeforeRun(t *testing.T) {
	t.Parallel()
	e := etcd.NewEmbedded(etcd.Config{DataDir: t.TempDir(), ClientAddr: etcdtest.FreeAddr(t), PeerAddr: etcdtest.FreeAddr(t), UnsafeNoFsync: true})
	rest, err := etcd.NewClient(e.Endpoints(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rest.Close()
	cli := e.LocalClient(rest)
	defer cli.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err = cli.Get(ctx, "/registry/x")
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get before Run: %v, want the context's deadline", err)
	}

	waiting := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		_, err := cli.Put(ctx, "/registry/x", "1")
		waiting <- err
	}()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, func() {}) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	if err := <-waiting; err != nil {
		t.Fatalf("put made while etcd starts: %v", err)
	}
	r, err := rest.Get(context.Background(), "/registry/x")
	if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "1" {
		t.Fatalf("network client reads %v %v, want the local put", r, err)
	}
}

// TestLocalClientAsNetwork: what the store does through the in-process
// client gives what it gives through a network client of the same server.
func TestLocalClientAsNetwork(t *testing.T) {
	t.Parallel()
	s := etcdtest.Start(t, "")
	nc := s.Client(t)
	lc := s.LocalClient(t)
	bg := context.Background()
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()

	// A watch through the local client sees writes of both clients, with
	// their previous values.
	wctx, wcancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer wcancel()
	start, err := lc.Get(ctx, "/registry/health", clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	wch := lc.Watch(wctx, "/registry/w/", clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(start.Header.Revision+1))

	cases := []struct {
		name  string
		write *clientv3.Client
		read  *clientv3.Client
		val   string
	}{
		{"local write, network read", lc, nc, "a"},
		{"network write, local read", nc, lc, "b"},
		{"local write, local read", lc, lc, "c"},
	}
	prev := ""
	for _, tc := range cases {
		// Create only if absent, then put over it: the store's transactions.
		tr, err := tc.write.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision("/registry/w/k"), "=", 0)).
			Then(clientv3.OpPut("/registry/w/k", tc.val)).
			Else(clientv3.OpPut("/registry/w/k", tc.val)).Commit()
		if err != nil {
			t.Fatalf("%s: txn: %v", tc.name, err)
		}
		if tr.Succeeded != (prev == "") {
			t.Errorf("%s: compare succeeded %v with the key %q before", tc.name, tr.Succeeded, prev)
		}
		r, err := tc.read.Get(ctx, "/registry/w/k")
		if err != nil || len(r.Kvs) != 1 || string(r.Kvs[0].Value) != tc.val || r.Kvs[0].ModRevision != tr.Header.Revision {
			t.Fatalf("%s: read %v %v, want %q at %d", tc.name, r, err, tc.val, tr.Header.Revision)
		}
		wr := <-wch
		if err := wr.Err(); err != nil || len(wr.Events) != 1 {
			t.Fatalf("%s: watch %v %v", tc.name, wr.Events, err)
		}
		ev := wr.Events[0]
		gotPrev := ""
		if ev.PrevKv != nil {
			gotPrev = string(ev.PrevKv.Value)
		}
		if string(ev.Kv.Value) != tc.val || gotPrev != prev || ev.Kv.ModRevision != tr.Header.Revision {
			t.Errorf("%s: watch event %q (prev %q) at %d, want %q (prev %q) at %d", tc.name, ev.Kv.Value, gotPrev, ev.Kv.ModRevision, tc.val, prev, tr.Header.Revision)
		}
		prev = tc.val
	}

	// Leases: a key written with a granted lease goes when it is revoked.
	lease, err := lc.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Put(ctx, "/registry/l", "x", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}
	if r, err := lc.Get(ctx, "/registry/l"); err != nil || len(r.Kvs) != 0 {
		t.Fatalf("key of a revoked lease: %v %v", r, err)
	}
	// KeepAliveOnce (the minions' heartbeats) answers as the network
	// client's does: the lease's TTL while it lives, ErrLeaseNotFound once
	// it is gone.
	live, err := nc.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cli  *clientv3.Client
	}{{"network", nc}, {"local", lc}} {
		ka, err := c.cli.KeepAliveOnce(ctx, live.ID)
		if err != nil || ka.ID != live.ID || ka.TTL <= 0 || ka.TTL > 60 {
			t.Fatalf("%s: keepalive of a live lease: %+v %v", c.name, ka, err)
		}
		if _, err := c.cli.KeepAliveOnce(ctx, lease.ID); !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			t.Fatalf("%s: keepalive of a revoked lease: %v, want %v", c.name, err, rpctypes.ErrLeaseNotFound)
		}
	}

	// A watch from a compacted revision ends with ErrCompacted, as the
	// store's Gone needs.
	cur, err := lc.Get(ctx, "/registry/w/k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lc.Compact(ctx, cur.Header.Revision); err != nil {
		t.Fatal(err)
	}
	old := lc.Watch(wctx, "/registry/w/", clientv3.WithPrefix(), clientv3.WithRev(start.Header.Revision))
	wr := <-old
	if !errors.Is(wr.Err(), rpctypes.ErrCompacted) {
		t.Fatalf("watch from a compacted revision: %v, want ErrCompacted", wr.Err())
	}

	// Cluster calls go to the network client.
	ml, err := lc.MemberList(ctx)
	if err != nil || len(ml.Members) != 1 {
		t.Fatalf("member list: %v %v", ml, err)
	}
}

// TestLocalClientServerStopped: once the server stops, a call fails at once
// with etcd's "server stopped" (Unavailable, as a network client's), it does
// not hang until its deadline.
func TestLocalClientServerStopped(t *testing.T) {
	t.Parallel()
	s := etcdtest.Start(t, "")
	lc := s.LocalClient(t)
	s.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t0 := time.Now()
	_, err := lc.Put(ctx, "/registry/x", "1")
	if err == nil {
		t.Fatal("put to a stopped server succeeded")
	}
	if ctx.Err() != nil {
		t.Fatalf("put to a stopped server waited for its deadline (%s): %v", time.Since(t0), err)
	}
	var ee rpctypes.EtcdError
	if !errors.As(err, &ee) || ee.Code() != codes.Unavailable {
		t.Fatalf("put to a stopped server: %v, want etcd's Unavailable", err)
	}
}
