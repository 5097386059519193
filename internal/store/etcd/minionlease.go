package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/api"
	"kubelite/internal/logging"
	"kubelite/internal/store"
)

// MinionLeasePrefix is the directory of the minions' heartbeat keys: one
// key per minion, MinionLeasePrefix+name, attached to that minion's lease.
// It is no api.Resource: no List, Watch or backup of the API sees it
// (a snapshot restore leaves leased keys out, see etcd.ReadSnapshot).
const MinionLeasePrefix = store.KeyPrefix + "minionleases/"

// minLeaseTTL is etcd's shortest lease at its default raft timing
// (1.5 election timeouts of 1 s, rounded up); etcd raises a shorter grant
// to its minimum, which is longer with a longer election timeout.
const minLeaseTTL = 2 * time.Second

const (
	// maxEnsureAttempts bounds how often Heartbeat retries the creation of
	// a key that other masters (or hands) keep changing under it.
	maxEnsureAttempts = 4
	// revokeTimeout bounds the best-effort revocation of a lease granted
	// but not used (another master's key won the race).
	revokeTimeout = 2 * time.Second
	// Run's backoff between a broken watch and the next list.
	minRelistBackoff = 50 * time.Millisecond
	maxRelistBackoff = 5 * time.Second
)

// MinionLeases keeps one etcd lease per minion under MinionLeasePrefix, as
// the minions' liveness signal (store.Heartbeater on the master's side):
//
//   - Heartbeat renews a minion's lease with KeepAliveOnce: not a raft
//     write, no new revision, nothing for any watcher. Only the first
//     heartbeat (or the first after the lease was lost) grants a lease and
//     creates the key {"minion":"NAME"} attached to it, with a transaction
//     that leaves an existing key alone: masters that heartbeat the same
//     minion share its one lease.
//   - When a minion stays silent for the lease's TTL, etcd revokes the
//     lease and deletes the key.
//   - Run lists and watches the keys (the node controller's view of who is
//     alive); Leased answers from that view.
//   - Heard answers when a minion's heartbeat last reached this master,
//     renewed or not: etcd too slow to renew a lease is no silence of the
//     minion's.
//   - HeartbeatsLost answers when this master last lost a heartbeat on its
//     own side: one that failed in etcd, or one the API refused unheard
//     (HeartbeatRefused).
//
// It does not check that the minion is registered (the registry does), and
// it never deletes a key: a deleted minion's key expires with its lease.
// Safe for concurrent use; Run at most once at a time.
type MinionLeases struct {
	cli *clientv3.Client
	ttl int64 // seconds
	log *logrus.Entry

	knownMu sync.Mutex
	known   map[string]knownLease // minion -> the lease this master renews

	heardMu   sync.Mutex
	heard     map[string]time.Time // minion -> its last heartbeat to reach this master
	heardKept int                  // len(heard) after its last pruning
	lost      time.Time            // when a heartbeat last failed in etcd or was refused

	running atomic.Bool // Run is running

	mu       sync.RWMutex
	leased   map[string]struct{} // minions holding a key, as of Run's last list/event
	synced   chan struct{}       // closed once Run's first list is loaded
	isSynced bool
}

var (
	_ store.Heartbeater       = (*MinionLeases)(nil)
	_ store.HeartbeatRefusals = (*MinionLeases)(nil)
)

// NewMinionLeases returns the leases of the minions on cli (the caller owns
// cli). ttl is the lease time (the node controller's grace period), rounded
// up to whole seconds, at least 2 s (etcd's shortest). log may be nil
// (logs nothing).
func NewMinionLeases(cli *clientv3.Client, ttl time.Duration, log *logrus.Entry) *MinionLeases {
	ttl = max(ttl, minLeaseTTL)
	return &MinionLeases{
		cli:    cli,
		ttl:    int64((ttl + time.Second - 1) / time.Second),
		log:    logging.OrDiscard(log),
		known:  map[string]knownLease{},
		heard:  map[string]time.Time{},
		synced: make(chan struct{}),
	}
}

// knownLease is the lease a master renews for a minion, and when it last
// saw the minion's key attached to it.
type knownLease struct {
	id      clientv3.LeaseID
	checked time.Time
}

// minionLeaseKey is name's key.
func minionLeaseKey(name string) string { return MinionLeasePrefix + name }

// minionLeaseValue is the value of name's key.
func minionLeaseValue(name string) string {
	b, _ := json.Marshal(struct {
		Minion string `json:"minion"`
	}{name}) // a string always encodes
	return string(b)
}

// leaseGone reports etcd's answer about a lease that expired or was revoked.
func leaseGone(err error) bool {
	return errors.Is(err, rpctypes.ErrLeaseNotFound) || errors.Is(err, rpctypes.ErrGRPCLeaseNotFound)
}

// Heartbeat renews name's lease: KeepAliveOnce on the lease this master
// knows for it; knowing none, it reads the key and renews the key's lease;
// when there is no key, or its lease is gone, it grants a lease and creates
// the key attached to it, unless another master created the key meanwhile
// (then the grant is revoked and the key's lease renewed). A key deleted
// without its lease, or written without one, is put back attached to the
// lease: at once where Run runs (its view lacks the key), else within a
// lease time (a serializable read of the key, once per lease time).
// ctx bounds everything. Errors name the minion and wrap an
// *api.StatusError (503 when etcd does not answer in time).
func (l *MinionLeases) Heartbeat(ctx context.Context, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("heartbeat minion %s: %w", name, api.NewBadRequest(fmt.Sprintf("invalid minion name %q", name)))
	}
	l.hear(name, time.Now())
	if err := l.heartbeat(ctx, name); err != nil {
		l.lose(time.Now())
		return fmt.Errorf("heartbeat minion %s: %w", name, err)
	}
	return nil
}

// HeartbeatsLost is when this master last lost a heartbeat on its own
// side (zero: never since this MinionLeases was made): one that failed in
// etcd (timed out, refused, cancelled while etcd was slow), or one its
// listener turned away unheard (HeartbeatRefused). Leases may have lapsed
// around then that no minion let lapse: the node controller judges no
// silence until the master has lost none for a grace period.
func (l *MinionLeases) HeartbeatsLost() time.Time {
	l.heardMu.Lock()
	defer l.heardMu.Unlock()
	return l.lost
}

// HeartbeatRefused implements store.HeartbeatRefusals: a heartbeat was
// turned away at at, unheard (see HeartbeatsLost).
func (l *MinionLeases) HeartbeatRefused(at time.Time) { l.lose(at) }

// lose notes a heartbeat lost on this master's side at at (HeartbeatsLost
// never goes back).
func (l *MinionLeases) lose(at time.Time) {
	l.heardMu.Lock()
	if at.After(l.lost) {
		l.lost = at
	}
	l.heardMu.Unlock()
}

func (l *MinionLeases) heartbeat(ctx context.Context, name string) error {
	key := minionLeaseKey(name)
	l.knownMu.Lock()
	k, ok := l.known[name]
	l.knownMu.Unlock()
	if !ok {
		return l.ensure(ctx, name, key, 0)
	}
	id := k.id
	_, err := l.cli.KeepAliveOnce(ctx, id)
	switch {
	case err == nil:
		attached, err := l.attached(ctx, name, key, k)
		if err != nil || attached {
			return err // the usual case: a renewal and nothing else
		}
		return l.ensure(ctx, name, key, id)
	case leaseGone(err):
		l.forget(name, id)
		return l.ensure(ctx, name, key, 0)
	default:
		return storeErr("keepalive", key, err)
	}
}

// attached reports whether name's key is (as far as this master can tell
// cheaply) still attached to k, just renewed. A key deleted (or rewritten)
// by hand leaves the lease alive and keyless: where Run runs, its view
// tells; where it does not, a local (serializable) read of the key, once
// per lease time.
func (l *MinionLeases) attached(ctx context.Context, name, key string, k knownLease) (bool, error) {
	if l.Synced() {
		return l.Leased(name), nil
	}
	if time.Since(k.checked) < time.Duration(l.ttl)*time.Second {
		return true, nil
	}
	resp, err := l.cli.Get(ctx, key, clientv3.WithSerializable())
	if err != nil {
		return false, storeErr("get", key, err)
	}
	if len(resp.Kvs) == 0 || clientv3.LeaseID(resp.Kvs[0].Lease) != k.id {
		return false, nil
	}
	l.remember(name, k.id)
	return true, nil
}

// ensure makes key exist attached to a live lease, renews that lease and
// remembers it as name's. live, if not 0, is a lease this master holds for
// name, just renewed, that the key may lack: the key is attached to it
// rather than to a new grant, or it is revoked when the key turns out to
// have another lease.
func (l *MinionLeases) ensure(ctx context.Context, name, key string, live clientv3.LeaseID) error {
	resp, err := l.cli.Get(ctx, key)
	if err != nil {
		return storeErr("get", key, err)
	}
	var kv *mvccpb.KeyValue
	if len(resp.Kvs) > 0 {
		kv = resp.Kvs[0]
	}
	// granted is a lease this call granted and has not attached: revoked
	// on the way out, unless a write that might have attached it failed.
	var granted clientv3.LeaseID
	defer func() {
		if granted != 0 {
			l.revoke(ctx, granted)
		}
	}()
	for range maxEnsureAttempts {
		if kv != nil && kv.Lease != 0 {
			id := clientv3.LeaseID(kv.Lease)
			if id == live {
				l.remember(name, id) // Run was only late
				return nil
			}
			_, err := l.cli.KeepAliveOnce(ctx, id)
			if err == nil {
				l.remember(name, id)
				if live != 0 && live != granted {
					l.revoke(ctx, live) // ours, keyless: the key has another
				}
				return nil
			}
			if !leaseGone(err) {
				return storeErr("keepalive", key, err)
			}
			// The key went with its lease: create it again.
		}
		if live == 0 {
			g, err := l.cli.Grant(ctx, l.ttl)
			if err != nil {
				return storeErr("grant lease", key, err)
			}
			live, granted = g.ID, g.ID
		}
		cmp := clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
		if kv != nil && kv.Lease == 0 {
			// A key without a lease (written by hand) would never expire:
			// attach it to one.
			cmp = clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)
		}
		tresp, err := l.cli.Txn(ctx).If(cmp).
			Then(clientv3.OpPut(key, minionLeaseValue(name), clientv3.WithLease(live))).
			Else(clientv3.OpGet(key)).
			Commit()
		if err != nil {
			if leaseGone(err) && live != granted {
				// The keyless lease expired meanwhile: grant one.
				l.forget(name, live)
				live = 0
				continue
			}
			// The put may have been applied: leave the grant to the key
			// (the next heartbeat finds it) or to its TTL.
			granted = 0
			return storeErr("create", key, err)
		}
		if tresp.Succeeded {
			l.remember(name, live)
			if live == granted {
				l.log.WithFields(logrus.Fields{"minion": name, "lease": fmt.Sprintf("%x", live), "ttl": l.ttl}).Debug("granted a heartbeat lease")
			}
			granted = 0
			return nil
		}
		// Another master wrote the key meanwhile: renew its lease instead.
		kv = nil
		if rr := tresp.Responses[0].GetResponseRange(); rr != nil && len(rr.Kvs) > 0 {
			kv = rr.Kvs[0]
		}
	}
	return api.NewInternal(fmt.Errorf("%s: changed %d times while being created", key, maxEnsureAttempts))
}

// revoke revokes a lease this master does not need, best effort: a lease
// left behind expires after its TTL.
func (l *MinionLeases) revoke(ctx context.Context, id clientv3.LeaseID) {
	rctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	if _, err := l.cli.Revoke(rctx, id); err != nil && !leaseGone(err) {
		l.log.WithError(err).WithField("lease", fmt.Sprintf("%x", id)).Debug("revoke an unused heartbeat lease (it expires by itself)")
	}
}

func (l *MinionLeases) remember(name string, id clientv3.LeaseID) {
	l.knownMu.Lock()
	l.known[name] = knownLease{id: id, checked: time.Now()}
	l.knownMu.Unlock()
}

// forget drops name's lease if it is still id.
func (l *MinionLeases) forget(name string, id clientv3.LeaseID) {
	l.knownMu.Lock()
	if l.known[name].id == id {
		delete(l.known, name)
	}
	l.knownMu.Unlock()
}

// Run lists the keys under MinionLeasePrefix, then watches them from the
// list's revision+1 until ctx ends, keeping the set of minions holding a
// key attached to a lease (a key written by hand without one is no
// heartbeat: it would never expire); it calls changed(name), from Run's goroutine, for every minion that
// enters or leaves the set (after a re-list: every difference with the
// set before). A broken watch or a compacted revision lists again, after a
// backoff (50 ms doubling to 5 s, reset once a watch is established);
// errors are logged, not returned. Run returns when ctx ends; it then
// drops the set (Leased false, Synced false until another Run's list). At
// most one Run at a time: a second one logs an error and only waits for
// its ctx.
func (l *MinionLeases) Run(ctx context.Context, changed func(name string)) {
	if !l.running.CompareAndSwap(false, true) {
		l.log.Error("MinionLeases.Run called while it runs: this one does nothing")
		<-ctx.Done()
		return
	}
	defer l.stop()
	backoff := minRelistBackoff
	for {
		err := l.listAndWatch(ctx, changed, func() { backoff = minRelistBackoff })
		if ctx.Err() != nil {
			return
		}
		l.log.WithError(err).WithField("retry_in", backoff).Warn("minion leases: listing again")
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxRelistBackoff)
	}
}

// stop ends a Run: the set is dropped and, if it was loaded, the synced
// channel replaced (waiters on one not yet closed wait for the next Run).
func (l *MinionLeases) stop() {
	l.mu.Lock()
	l.leased = nil
	if l.isSynced {
		l.synced, l.isSynced = make(chan struct{}), false
	}
	l.mu.Unlock()
	l.running.Store(false)
}

// listAndWatch loads the set from a list and follows the watch until it
// breaks or ctx ends; established is called once the watch is.
func (l *MinionLeases) listAndWatch(ctx context.Context, changed func(string), established func()) error {
	// Values and all (they are tiny): etcd's keys-only range answers from
	// its index, without the keys' leases.
	resp, err := l.cli.Get(ctx, MinionLeasePrefix, clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("list %s: %w", MinionLeasePrefix, err)
	}
	now := make(map[string]struct{}, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if name := strings.TrimPrefix(string(kv.Key), MinionLeasePrefix); name != "" && kv.Lease != 0 {
			now[name] = struct{}{}
		}
	}
	l.mu.Lock()
	before := l.leased
	l.leased = now
	l.mu.Unlock()
	var diff []string
	for name := range now {
		if _, ok := before[name]; !ok {
			diff = append(diff, name)
		}
	}
	for name := range before {
		if _, ok := now[name]; !ok {
			diff = append(diff, name)
		}
	}
	sort.Strings(diff)
	for _, name := range diff {
		changed(name)
	}
	l.mu.Lock()
	if !l.isSynced {
		close(l.synced)
		l.isSynced = true
	}
	l.mu.Unlock()

	// WithRequireLeader: a member cut off from its leader ends the watch
	// (and Run lists again elsewhere) instead of going quiet.
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	from := resp.Header.Revision + 1
	wch := l.cli.Watch(wctx, MinionLeasePrefix, clientv3.WithPrefix(), clientv3.WithRev(from), clientv3.WithCreatedNotify())
	for wresp := range wch {
		if err := wresp.Err(); err != nil {
			return fmt.Errorf("watch %s from revision %d: %w", MinionLeasePrefix, from, err)
		}
		if wresp.Created {
			established()
		}
		diff = diff[:0]
		l.mu.Lock()
		for _, ev := range wresp.Events {
			name := strings.TrimPrefix(string(ev.Kv.Key), MinionLeasePrefix)
			if name == "" {
				continue
			}
			_, had := l.leased[name]
			has := ev.Type == clientv3.EventTypePut && ev.Kv.Lease != 0
			switch {
			case has && !had:
				l.leased[name] = struct{}{}
			case !has && had:
				delete(l.leased, name)
			default:
				continue
			}
			diff = append(diff, name)
		}
		l.mu.Unlock()
		for _, name := range diff {
			changed(name)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("watch %s from revision %d: closed", MinionLeasePrefix, from)
}

// heardKeep is how long Heard remembers a minion that stopped
// heartbeating, in lease times: far longer than any eviction waits.
const heardKeep = 20

// hear notes that a heartbeat of name reached this master at now. Minions
// silent for heardKeep lease times are forgotten whenever the map has
// doubled since it was last pruned, so deleted minions do not pile up.
func (l *MinionLeases) hear(name string, now time.Time) {
	l.heardMu.Lock()
	defer l.heardMu.Unlock()
	l.heard[name] = now
	if len(l.heard) <= 2*max(l.heardKept, 64) {
		return
	}
	old := now.Add(-heardKeep * time.Duration(l.ttl) * time.Second)
	for n, t := range l.heard {
		if t.Before(old) {
			delete(l.heard, n)
		}
	}
	l.heardKept = len(l.heard)
}

// Heard is when a heartbeat of name last reached this master (wall clock),
// whether or not etcd then renewed its lease; zero if none did since this
// MinionLeases was made (or for heardKeep lease times). A lease can lapse
// while its minion heartbeats on time: when etcd cannot apply in time (a
// disk that stalls fsync for seconds, a master short of CPU), renewals
// fail and leases expire by the thousand. Heard tells the node controller
// that such a minion is alive and only this master is slow, so that it
// neither marks it NotReady nor evicts its pods. Only this master's own
// heartbeats count: with several masters, one received by another master
// is known here through the lease alone.
func (l *MinionLeases) Heard(name string) time.Time {
	l.heardMu.Lock()
	defer l.heardMu.Unlock()
	return l.heard[name]
}

// Leased reports whether name holds a key attached to a lease as of Run's
// last list or watch event; false before the first list, and once Run has
// returned.
func (l *MinionLeases) Leased(name string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	_, ok := l.leased[name]
	return ok
}

// Synced reports whether Run's first list has been loaded (and changed
// called for it).
func (l *MinionLeases) Synced() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.isSynced
}

// WaitSynced waits until Run's first list has been loaded (and changed
// called for it); false if ctx ended first.
func (l *MinionLeases) WaitSynced(ctx context.Context) bool {
	l.mu.RLock()
	ch := l.synced
	l.mu.RUnlock()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}
