package etcd

import (
	"context"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// CompactStep runs one step of a compactor (compact.go) that compacted to
// done last, for the tests of package etcd_test; it returns the revision
// compacted to last after the step.
func CompactStep(ctx context.Context, cli *clientv3.Client, leads func() bool, retention, done int64, log *logrus.Entry) (int64, error) {
	c := &compactor{cli: cli, leads: leads, retention: retention, log: log, done: done}
	err := c.step(ctx)
	return c.done, err
}
