package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/etcd"
)

// The embedded server keeps its history at CompactionRetention revisions
// by itself, soon after a burst, not 5 minutes later: an old revision reads
// as compacted, the retention's oldest still reads.
func TestEmbeddedKeepsHistory(t *testing.T) {
	t.Parallel()
	const retention = 50
	cli, _ := runEmbedded(t, etcd.Config{DataDir: t.TempDir(), CompactionRetention: retention, SpaceCheckInterval: 50 * time.Millisecond})
	ctx := context.Background()
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
	cli, _ := runEmbedded(t, etcd.Config{DataDir: t.TempDir(), SpaceCheckInterval: time.Hour})
	ctx := context.Background()
	put := func(n int) (rev int64) {
		t.Helper()
		for i := 0; i < n; i++ {
			resp, err := cli.Put(ctx, "k", fmt.Sprint(i))
			if err != nil {
				t.Fatal(err)
			}
			rev = resp.Header.Revision
		}
		return rev
	}
	rev := put(40)
	log := logrus.New()
	log.SetOutput(io.Discard)
	step := func(leads bool, done int64) (int64, error) {
		return etcd.CompactStep(ctx, cli, func() bool { return leads }, 10, done, logrus.NewEntry(log))
	}
	if done, err := step(false, 0); err != nil || done != 0 {
		t.Fatalf("a follower: step = %v, compacted to %d, want nothing done", err, done)
	}
	done, err := step(true, 0)
	if err != nil || done != rev-10 {
		t.Fatalf("the leader: step = %v, compacted to %d, want %d", err, done, rev-10)
	}
	put(20)
	if _, err := cli.Compact(ctx, rev+15); err != nil { // another's compaction, past where the next one goes
		t.Fatal(err)
	}
	done, err = step(true, done)
	if err != nil {
		t.Fatalf("a revision compacted already: %v", err)
	}
	if done != rev+20-10 {
		t.Fatalf("compacted to %d, want %d", done, rev+20-10)
	}
}
