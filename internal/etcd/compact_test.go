package etcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestCompactTarget(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		rev, done, retention int64
		want                 int64
		ok                   bool
	}{
		{"a young cluster keeps everything", 50_000, 0, 100_000, 0, false},
		{"just past the retention: not yet a batch", 105_000, 0, 100_000, 0, false},
		{"a tenth past it: compact", 110_001, 0, 100_000, 10_001, true},
		{"a burst of 450,000 revisions", 450_000, 0, 100_000, 350_000, true},
		{"compacted a moment ago", 455_000, 350_000, 100_000, 0, false},
		{"a batch since the last", 460_001, 350_000, 100_000, 360_001, true},
		{"retention 1", 10, 0, 1, 9, true},
		{"retention 1, compacted just before", 10, 8, 1, 0, false},
		{"no retention: never", 1_000_000, 0, 0, 0, false},
	} {
		got, ok := compactTarget(tc.rev, tc.done, tc.retention)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: compactTarget(%d, %d, %d) = %d, %v, want %d, %v", tc.name, tc.rev, tc.done, tc.retention, got, ok, tc.want, tc.ok)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// The embedded server keeps its history at CompactionRetention revisions
// by itself, soon after a burst, not 5 minutes later: an old revision reads
// as compacted, the retention's oldest still reads.
func TestEmbeddedKeepsHistory(t *testing.T) {
	t.Parallel()
	const retention = 50
	e := NewEmbedded(Config{DataDir: t.TempDir(), ClientAddr: freeAddr(t), PeerAddr: freeAddr(t), UnsafeNoFsync: true,
		CompactionRetention: retention, SpaceCheckInterval: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, func() {}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("embedded etcd: %v", err)
		}
	}()
	select {
	case <-e.Ready():
	case err := <-done:
		done <- err
		t.Fatalf("embedded etcd: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("embedded etcd not ready after 30s")
	}
	cli, err := NewClient(e.Endpoints(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var first, last int64
	for i := 0; i < 3*retention; i++ {
		resp, err := cli.Put(ctx, "/registry/pods/default/p", fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = resp.Header.Revision
		}
		last = resp.Header.Revision
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := cli.Get(ctx, "/registry/pods/default/p", clientv3.WithRev(first))
		if errors.Is(err, rpctypes.ErrCompacted) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("revision %d of %d still readable 20 s after the writes: history not compacted to %d revisions", first, last, retention)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := cli.Get(ctx, "/registry/pods/default/p", clientv3.WithRev(last-retention+1)); err != nil {
		t.Fatalf("revision %d, within the retention: %v", last-retention+1, err)
	}
}

// Only the member that leads compacts; a revision already compacted by
// another (a NOSPACE recovery to the current revision) is no error.
func TestCompactorStep(t *testing.T) {
	t.Parallel()
	e := NewEmbedded(Config{DataDir: t.TempDir(), ClientAddr: freeAddr(t), PeerAddr: freeAddr(t), UnsafeNoFsync: true,
		SpaceCheckInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, func() {}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("embedded etcd: %v", err)
		}
	}()
	select {
	case <-e.Ready():
	case err := <-done:
		done <- err
		t.Fatalf("embedded etcd: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("embedded etcd not ready after 30s")
	}
	cli, err := NewClient(e.Endpoints(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	var rev int64
	for i := 0; i < 40; i++ {
		resp, err := cli.Put(ctx, "k", fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	leading := false
	c := &compactor{cli: cli, leads: func() bool { return leading }, retention: 10, log: logrus.NewEntry(log)}
	if err := c.step(ctx); err != nil || c.done != 0 {
		t.Fatalf("a follower: step = %v, compacted to %d, want nothing done", err, c.done)
	}
	leading = true
	if err := c.step(ctx); err != nil || c.done != rev-10 {
		t.Fatalf("the leader: step = %v, compacted to %d, want %d", err, c.done, rev-10)
	}
	for i := 0; i < 20; i++ {
		if _, err := cli.Put(ctx, "k", fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Compact(ctx, rev+15); err != nil { // another's compaction, past where the next one goes
		t.Fatal(err)
	}
	if err := c.step(ctx); err != nil {
		t.Fatalf("a revision compacted already: %v", err)
	}
	if c.done != rev+20-10 {
		t.Fatalf("compacted to %d, want %d", c.done, rev+20-10)
	}
}
