package etcd_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
)

// TestSnapshotRestore: a snapshot saved from one etcd restores every live
// key, and no deleted or leased one, into a new etcd; a second restore
// into it is refused.
func TestSnapshotRestore(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	old := etcdtest.Start(t, "")
	cli := old.Client(t)
	for k, v := range map[string]string{"/registry/pods/default/a": "A1", "/registry/pods/default/b": "B", "/registry/minions/m1": "M", "/kubelite/portalips/10.254.0.7": "default/s"} {
		if _, err := cli.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Put(ctx, "/registry/pods/default/a", "A2"); err != nil { // a newer version
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, "/registry/pods/default/b"); err != nil {
		t.Fatal(err)
	}
	lease, err := cli.Grant(ctx, 3600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "/registry/events/default/e", "E", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "snap.db")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := etcd.SaveSnapshot(ctx, cli, f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	fresh := etcdtest.Start(t, "")
	cli2 := fresh.Client(t)
	n, err := etcd.RestoreSnapshot(ctx, cli2, file)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("restored %d keys, want 3", n)
	}
	resp, err := cli2.Get(ctx, "/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range resp.Kvs {
		got[string(kv.Key)] = string(kv.Value)
	}
	want := map[string]string{"/registry/pods/default/a": "A2", "/registry/minions/m1": "M", "/kubelite/portalips/10.254.0.7": "default/s"}
	if len(got) != len(want) {
		t.Fatalf("restored %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("restored %v, want %v", got, want)
		}
	}
	if _, err := etcd.RestoreSnapshot(ctx, cli2, file); err == nil {
		t.Fatal("a restore into an etcd holding objects was accepted")
	}
	if _, err := etcd.ReadSnapshot(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing snapshot was read")
	}
}
