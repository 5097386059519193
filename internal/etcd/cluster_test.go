package etcd_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/testutil"
)

// TestThreeMembers: a cluster grown to three members lists them healthy
// with one leader; with two stopped, the survivor has no leader and the
// diagnosis names the lost quorum; one back, it commits again; a member can
// be removed; a snapshot can be saved.
func TestThreeMembers(t *testing.T) {
	t.Parallel()
	c := etcdtest.StartCluster(t, 3)
	cli := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Members reads the list of whichever member the client asks, which may
	// apply the newest member's name a moment after that member is ready.
	var members []etcd.Member
	testutil.Eventually(t, 10*time.Second, func() error {
		var err error
		members, err = etcd.Members(ctx, cli)
		if err != nil {
			return err
		}
		leaders := 0
		for _, m := range members {
			if !m.Healthy {
				return fmt.Errorf("member %q unhealthy: %s", m.Name, m.Err)
			}
			if m.Leader {
				leaders++
			}
		}
		if len(members) != 3 || leaders != 1 {
			return fmt.Errorf("members %+v: want 3 with one leader", members)
		}
		return nil
	}, "three healthy members, one leader")
	if _, err := cli.Put(ctx, "/k", "v"); err != nil {
		t.Fatal(err)
	}

	c.Stop(1)
	c.Stop(2)
	// The survivor alone: a write cannot commit; the diagnosis says why.
	wctx, wcancel := context.WithTimeout(ctx, time.Second)
	_, err := cli.Put(wctx, "/k", "lost")
	wcancel()
	if err == nil {
		t.Fatal("a write committed with 1 of 3 members")
	}
	// The survivor's leader steps down one election timeout after it lost
	// its peers.
	var diag string
	testutil.Eventually(t, 10*time.Second, func() bool {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		defer dcancel()
		diag = etcd.DiagnoseQuorum(dctx, cli)
		return strings.Contains(diag, "have no leader")
	}, "the survivor still sees a leader")
	if !strings.Contains(diag, "etcd quorum lost: the etcd members that answer (1 of 3 endpoints) have no leader") {
		t.Fatalf("diagnosis %q", diag)
	}

	c.Start(2)
	if _, err := cli.Put(ctx, "/k", "back"); err != nil {
		t.Fatalf("write with 2 of 3 members: %v", err)
	}
	if err := etcd.RemoveMember(ctx, cli, "m1"); err != nil {
		t.Fatal(err)
	}
	// Members reads the list of whichever member the client asks, which
	// may apply the removal a moment later.
	testutil.Eventually(t, 10*time.Second, func() error {
		members, err = etcd.Members(ctx, cli)
		if err == nil && len(members) != 2 {
			err = fmt.Errorf("%d members: %+v", len(members), members)
		}
		return err
	}, "two members after the remove")
	if _, err := cli.Put(ctx, "/k", "two"); err != nil {
		t.Fatalf("write with 2 of 2 members: %v", err)
	}
	var buf bytes.Buffer
	n, err := etcd.SaveSnapshot(ctx, cli, &buf)
	if err != nil || n == 0 || int64(buf.Len()) != n {
		t.Fatalf("snapshot %d bytes (%d buffered): %v", n, buf.Len(), err)
	}
}
