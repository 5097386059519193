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
	// Evict reports whether the minion's pods must be evicted now.
	Evict bool
	// Next is when to look again (zero: no need).
	Next time.Time
}

// Decide computes a minion's status at now. seen is when the controller
// first saw the minion (standing in for a heartbeat never posted).
func Decide(m *api.Minion, now, seen time.Time, grace, eviction time.Duration) Decision {
	st := m.Status
	d := Decision{Status: st}
	hb := st.LastHeartbeat
	if hb.IsZero() {
		hb = seen
	}
	age := now.Sub(hb)
	switch {
	case age > grace:
		if st.Condition != api.MinionNotReady {
			d.Status.Condition = api.MinionNotReady
			d.Status.NotReadySince = now
			d.Status.Reason = fmt.Sprintf("no heartbeat for %s", age.Round(time.Second))
			d.Changed, d.Transition = true, string(api.MinionNotReady)
		} else if d.Status.NotReadySince.IsZero() {
			d.Status.NotReadySince = now
			d.Changed = true
		}
		since := d.Status.NotReadySince
		if now.Sub(since) >= eviction {
			d.Evict = true
			d.Next = now.Add(grace) // look again for pods bound meanwhile
		} else {
			d.Next = since.Add(eviction)
		}
	case !st.LastHeartbeat.IsZero():
		if st.Condition != api.MinionReady {
			d.Status.Condition = api.MinionReady
			d.Status.NotReadySince = time.Time{}
			d.Status.Reason = ""
			d.Changed, d.Transition = true, string(api.MinionReady)
		}
		d.Next = hb.Add(grace + time.Millisecond)
	default: // never heard from, still within grace
		if st.Condition == "" {
			d.Status.Condition = api.MinionUnknown
			d.Changed = true
		}
		d.Next = hb.Add(grace + time.Millisecond)
	}
	return d
}
