package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// etcd's space quota. When the database file reaches QuotaBackendBytes,
// etcd raises the NOSPACE alarm and refuses every write (heartbeats too)
// until the alarm is disarmed, even after a restart. Most of the space is
// usually old revisions (every update keeps the previous value until a
// compaction) and free pages (kept in the file until a defragmentation).
// RecoverSpace frees both and disarms the alarm; the embedded server runs
// it in a loop, so recovery needs no manual step. If live objects alone
// fill the quota, the next write raises the alarm again: the store answers
// 507 saying so, and deleting objects (events expire in an hour) or a
// larger quota is the way out.

const (
	// DefaultQuotaBackendBytes is the embedded etcd's space quota.
	DefaultQuotaBackendBytes = 2 << 30
	// DefaultSpaceCheckInterval is how often the embedded server looks for
	// a NOSPACE alarm to recover from.
	DefaultSpaceCheckInterval = 10 * time.Second
)

// AlarmCheck returns nil when no etcd alarm is raised, else an error naming
// them (NOSPACE: writes are refused). It suits a readiness check (/readyz).
func AlarmCheck(ctx context.Context, cli *clientv3.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := cli.AlarmList(ctx)
	if err != nil {
		return fmt.Errorf("etcd alarms: %w", err)
	}
	if len(resp.Alarms) == 0 {
		return nil
	}
	var names []string
	nospace := false
	for _, a := range resp.Alarms {
		names = append(names, fmt.Sprintf("%s on member %x", a.Alarm, a.MemberID))
		nospace = nospace || a.Alarm == etcdserverpb.AlarmType_NOSPACE
	}
	msg := "etcd alarm raised: " + strings.Join(names, ", ")
	if nospace {
		msg += ": the space quota is exhausted and writes are refused until kubelite compacts, defragments and disarms it"
	}
	return errors.New(msg)
}

// Defragmenter defragments the database of etcd; nil means "every
// endpoint of the client, through its maintenance API".
type Defragmenter func(ctx context.Context) error

// RecoverSpace recovers from a NOSPACE alarm: it compacts the history up to
// the current revision, defragments (defrag, or every endpoint of cli when
// nil), and disarms the alarm. It reports whether there was an alarm to
// recover from; without one it does nothing.
func RecoverSpace(ctx context.Context, cli *clientv3.Client, defrag Defragmenter, log *logrus.Entry) (bool, error) {
	resp, err := cli.AlarmList(ctx)
	if err != nil {
		return false, fmt.Errorf("etcd alarms: %w", err)
	}
	var nospace []*etcdserverpb.AlarmMember
	for _, a := range resp.Alarms {
		if a.Alarm == etcdserverpb.AlarmType_NOSPACE {
			nospace = append(nospace, a)
		}
	}
	if len(nospace) == 0 {
		return false, nil
	}
	log.Error("etcd's space quota is exhausted (NOSPACE alarm): writes are refused; compacting, defragmenting and disarming")
	rev := resp.Header.Revision
	if _, err := cli.Compact(ctx, rev, clientv3.WithCompactPhysical()); err != nil && !errors.Is(err, rpctypes.ErrCompacted) {
		return true, fmt.Errorf("compact etcd to revision %d: %w", rev, err)
	}
	if defrag == nil {
		defrag = func(ctx context.Context) error {
			for _, ep := range cli.Endpoints() {
				if _, err := cli.Defragment(ctx, ep); err != nil {
					return fmt.Errorf("%s: %w", ep, err)
				}
			}
			return nil
		}
	}
	if err := defrag(ctx); err != nil {
		return true, fmt.Errorf("defragment etcd: %w", err)
	}
	for _, a := range nospace {
		if _, err := cli.AlarmDisarm(ctx, &clientv3.AlarmMember{MemberID: a.MemberID, Alarm: a.Alarm}); err != nil {
			return true, fmt.Errorf("disarm etcd NOSPACE alarm: %w", err)
		}
	}
	log.WithField("compactedTo", rev).Warn("etcd space recovered: history compacted, database defragmented, NOSPACE alarm disarmed; " +
		"writes are accepted again (if live objects fill the quota, the alarm returns: delete objects or raise the quota)")
	return true, nil
}

// WatchSpace runs RecoverSpace every interval until ctx ends.
func WatchSpace(ctx context.Context, cli *clientv3.Client, defrag Defragmenter, interval time.Duration, log *logrus.Entry) {
	every(ctx, interval, func() {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if _, err := RecoverSpace(rctx, cli, defrag, log); err != nil && ctx.Err() == nil {
			log.WithError(err).Error("recovering etcd space failed; retrying")
		}
	})
}
