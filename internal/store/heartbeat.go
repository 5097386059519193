package store

import (
	"context"
	"errors"
)

// Heartbeater records a minion's heartbeat without writing its object. On
// a master it is an etcd lease per minion (storeetcd.MinionLeases): a
// heartbeat renews the lease, which does not go through raft and reaches no
// watcher of minions; the lease's key disappears when the minion falls
// silent for the lease's time, and the node controller watches those keys.
// A kubelet whose store is a Heartbeater writes its minion only to register
// it, when its fields change, and every few minutes; otherwise its
// heartbeat is a write of the minion (Status.LastHeartbeat).
type Heartbeater interface {
	// Heartbeat records that minion name is alive now. It fails with
	// ErrNoHeartbeats when this store (or the master behind it) records
	// none, and with api.IsNotFound when the minion is not registered.
	Heartbeat(ctx context.Context, name string) error
}

// ErrNoHeartbeats is Heartbeat's answer where heartbeats are not recorded
// apart from the minion: write the minion instead.
var ErrNoHeartbeats = errors.New("this store records no heartbeats apart from the minion object")
