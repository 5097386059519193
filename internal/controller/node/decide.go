package node

import (
	"fmt"
	"time"

	"kubelite/internal/api"
)

// Decision is what Decide concludes for one minion.
type Decision struct {
	// Status is the status the minion should have.
	Status api.MinionStatus
	// Changed reports whether Status differs from the minion's.
	Changed bool
	// Transition is "NotReady" or "Ready" when the condition flips, else "".
	Transition string
	// EvictReplicated and EvictOthers report whether the minion's pods of
	// each kind (see Eviction) must be evicted now.
	EvictReplicated, EvictOthers bool
	// Next is when to look again (zero: no need).
	Next time.Time
	// HeardOnly reports that the minion's lease is gone but a heartbeat
	// reached this master within the grace period: the lease lapsed on
	// the master's side, and the minion counts as heartbeating.
	HeardOnly bool
}

// Eviction is how long a minion must have been NotReady before its pods
// are evicted. Replicated is for the pods a replication controller selects:
// evicted, they are replaced on a Ready minion, so waiting only keeps
// replicas down. Others is for the rest: nothing recreates them, so
// evicting them early only loses them should the minion come back.
type Eviction struct {
	Replicated, Others time.Duration
}

// Lease is what the controller knows of a minion's heartbeat lease
// (store.Heartbeater: a kubelet's heartbeat renews it, and it is gone once
// the minion has been silent for the grace period).
type Lease int

const (
	NoLeases  Lease = iota // heartbeats are writes of the minion (LastHeartbeat) only
	LeaseHeld              // the minion's lease is live: it heartbeats
	LeaseGone              // leases are watched and this minion holds none
)

// Heartbeats is what the controller knows of a minion's heartbeats apart
// from its object: its lease, and when a heartbeat last reached this master
// (Heard, zero if unknown). A heartbeat this master received is one even
// when etcd failed to renew the lease with it.
type Heartbeats struct {
	Lease Lease
	Heard time.Time
}

// Decide computes a minion's status at now. seen is when this controller
// (this leader's term) first saw the minion: a heartbeat older than that
// proves nothing against the minion, since the masters may have been away.
// So a minion becomes NotReady only once it has been watched for the grace
// period with no fresh heartbeat, and its eviction timer starts no earlier
// than that, whatever notReadySince an earlier leader stored. A live lease
// is a heartbeat now; without one, the minion's LastHeartbeat (written at
// registration and every few minutes) is the last heartbeat known, or
// the last one that reached this master (hb.Heard) if later: a lease that
// lapsed while the minion's heartbeats arrived says the store was slow, not
// that the minion is gone.
func Decide(m *api.Minion, hbs Heartbeats, now, seen time.Time, grace time.Duration, ev Eviction) Decision {
	st := m.Status
	d := Decision{Status: st}
	hb := st.LastHeartbeat
	lease := hbs.Lease
	if lease == LeaseHeld {
		hb = now
	}
	if hbs.Heard.After(hb) {
		hb = hbs.Heard
		d.HeardOnly = lease == LeaseGone && now.Sub(hb) <= grace
	}
	watchedFrom := seen.Add(grace) // the first moment silence counts
	switch {
	case !hb.IsZero() && now.Sub(hb) <= grace: // a fresh heartbeat
		if st.Condition != api.MinionReady {
			d.Status.Condition = api.MinionReady
			d.Status.NotReadySince = time.Time{}
			d.Status.Reason = ""
			d.Changed, d.Transition = true, string(api.MinionReady)
		}
		d.Next = hb.Add(grace + time.Millisecond)
	case !now.After(watchedFrom): // not watched for the grace period yet
		if st.Condition == "" {
			d.Status.Condition = api.MinionUnknown
			d.Changed = true
		}
		d.Next = watchedFrom.Add(time.Millisecond)
	default: // silent for the grace period under this leader's eyes
		if st.Condition != api.MinionNotReady {
			d.Status.Condition = api.MinionNotReady
			d.Status.NotReadySince = now
			d.Status.Reason = fmt.Sprintf("no heartbeat for %s", silence(now, hb, seen).Round(time.Second))
			if lease == LeaseGone && !hb.IsZero() {
				// The lease went after grace of silence; the minion's own
				// LastHeartbeat may be minutes older than its last heartbeat.
				d.Status.Reason = fmt.Sprintf("no heartbeat for %s or more (its heartbeat lease expired)", grace.Round(time.Second))
			}
			d.Changed, d.Transition = true, string(api.MinionNotReady)
		} else if d.Status.NotReadySince.IsZero() {
			d.Status.NotReadySince = now
			d.Changed = true
		}
		start := d.Status.NotReadySince
		if start.Before(watchedFrom) {
			start = watchedFrom
		}
		elapsed := now.Sub(start)
		d.EvictReplicated, d.EvictOthers = elapsed >= ev.Replicated, elapsed >= ev.Others
		if d.EvictReplicated || d.EvictOthers {
			d.Next = now.Add(grace) // look again for pods bound meanwhile
		}
		for _, t := range []time.Duration{ev.Replicated, ev.Others} {
			if at := start.Add(t); elapsed < t && (d.Next.IsZero() || at.Before(d.Next)) {
				d.Next = at
			}
		}
	}
	return d
}

// silence is how long the minion has been silent as far as is known: since
// its last heartbeat, or since it was first seen when it never sent one.
func silence(now, hb, seen time.Time) time.Duration {
	if hb.IsZero() {
		return now.Sub(seen)
	}
	return now.Sub(hb)
}
