package etcd

import "time"

// HearAt notes a heartbeat of name reaching l at t (tests of Heard's
// pruning, which a real heartbeat dates now).
func HearAt(l *MinionLeases, name string, t time.Time) { l.hear(name, t) }
