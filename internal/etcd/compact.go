package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// History. Every update keeps the previous value as an older revision until
// a compaction removes it. etcd's own auto compaction in revision mode keeps
// the last Config.CompactionRetention revisions, but looks only every 5
// minutes: a burst writes its whole history into the database first. A
// master taking 150,000 pods (450,000 revisions in two and a half minutes)
// grew a 1.15 GB file, every page of it mapped into its RSS, and a burst
// twice that size reaches the 2 GiB quota (NOSPACE, writes refused) before
// etcd's first look. So the embedded server keeps the retention itself:
// every SpaceCheckInterval (10 s) the member that leads compacts to the
// retention once a tenth of it has been written past the last compaction,
// and the pages freed are reused by the next writes instead of growing the
// file. A watch from a compacted revision is answered Gone and re-lists, as
// before; a history of 100,000 revisions is half a minute of the heaviest
// burst measured and hours of an ordinary cluster's changes.

// compactTarget decides a compaction (pure): given the current revision,
// the revision compacted to last (0: none yet) and the revisions to keep,
// the revision to compact to, and whether to compact at all: not before
// the history is longer than the retention by a tenth of it (at least one
// revision), so that a busy cluster compacts a batch at a time.
func compactTarget(rev, done, retention int64) (int64, bool) {
	target := rev - retention
	if retention <= 0 || target <= done+max(retention/10, 1) {
		return 0, false
	}
	return target, true
}

// compactor keeps etcd's history at retention revisions: one step a tick.
type compactor struct {
	cli       *clientv3.Client
	leads     func() bool // whether this member leads (only the leader compacts, as etcd's own compactor)
	retention int64
	log       *logrus.Entry

	done int64 // the revision compacted to last
}

// step reads the current revision and compacts when compactTarget says.
// A revision already compacted (another master, a NOSPACE recovery) is not
// an error: the next target is computed from it.
func (c *compactor) step(ctx context.Context) error {
	if !c.leads() {
		return nil
	}
	resp, err := c.cli.Get(ctx, "kubelite-compaction-probe", clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("read etcd's revision: %w", err)
	}
	target, ok := compactTarget(resp.Header.Revision, c.done, c.retention)
	if !ok {
		return nil
	}
	if _, err := c.cli.Compact(ctx, target); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return fmt.Errorf("compact etcd to revision %d: %w", target, err)
	}
	c.done = target
	c.log.WithFields(logrus.Fields{"compactedTo": target, "revision": resp.Header.Revision}).Debug("compacted etcd's history")
	return nil
}

// KeepHistory compacts etcd's history to the last retention revisions
// every interval while leads says this member leads, until ctx ends.
func KeepHistory(ctx context.Context, cli *clientv3.Client, leads func() bool, retention int64, interval time.Duration, log *logrus.Entry) {
	c := &compactor{cli: cli, leads: leads, retention: retention, log: log}
	every(ctx, interval, func() {
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := c.step(sctx); err != nil && ctx.Err() == nil {
			log.WithError(err).Warn("compacting etcd's history failed; trying again at the next check")
		}
	})
}

// every calls f every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		f()
	}
}
