package store

import (
	"context"
	"errors"
	"time"
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

// HeartbeatRefusals is implemented by a Heartbeater that wants to know when
// the master turned a heartbeat away unheard, too busy to take it in (the
// API's listener, every slot for heartbeats held): silence around then may
// be the master's, not the minion's.
type HeartbeatRefusals interface {
	HeartbeatRefused(at time.Time)
}
