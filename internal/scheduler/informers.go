package scheduler

import (
	"reflect"

	"kubelite/internal/api"
	"kubelite/internal/fit"
)

// onPod keeps the accounting in step with the pod cache and queues unbound pods.
func (s *Scheduler) onPod(key string) {
	s.mu.Lock() // read the cache under our lock: the last caller sees the last state
	obj, ok := s.pods.Get(key)
	prev, had := s.accounted[key]
	if !ok {
		freed := false
		if had {
			s.removeLocked(prev.host, prev.pod)
			delete(s.accounted, key)
			freed = !fit.Terminated(prev.pod)
		}
		delete(s.unschedulable, key)
		s.mu.Unlock()
		if freed {
			s.wakeUnschedulable()
		}
		return
	}
	p := obj.(*api.Pod)
	host := p.DesiredState.Host
	if host == "" {
		if had && prev.assumed {
			s.mu.Unlock() // the bind is in flight
			return
		}
		if had { // unbound again: forget it
			s.removeLocked(prev.host, prev.pod)
			delete(s.accounted, key)
		}
		// A pod that fit nowhere waits for its backoff, or for a change
		// that matters: not for its own status update.
		waiting := false
		if tried := s.unschedulable[key]; tried != nil {
			waiting = sameSpec(tried, p)
		}
		s.mu.Unlock()
		if !waiting && !fit.Terminated(p) {
			s.queue.Add(key)
		}
		return
	}
	freed := false
	if had {
		s.removeLocked(prev.host, prev.pod)
		freed = !fit.Terminated(prev.pod) && fit.Terminated(p)
	}
	s.addLocked(host, p)
	s.accounted[key] = accounted{host: host, pod: p}
	delete(s.unschedulable, key)
	s.mu.Unlock()
	if freed {
		s.wakeUnschedulable()
	}
}

// schedulingFields are the fields of a minion that change where pods fit.
func schedulingFields(m *api.Minion) any {
	return struct {
		c api.MinionCondition
		u bool
		l map[string]string
		r api.Capacity
	}{m.Status.Condition, m.Unschedulable, m.Labels, m.Resources.Capacity}
}

// onMinion updates a node's minion and wakes unschedulable pods when
// something that matters for scheduling changed.
func (s *Scheduler) onMinion(key string) {
	s.mu.Lock()
	obj, ok := s.minions.Get(key)
	n := s.nodes[key]
	changed := false
	if !ok {
		if n != nil && n.Minion != nil {
			n.SetMinion(nil)
			s.dirty = true
		}
	} else {
		m := obj.(*api.Minion)
		if n == nil {
			n = s.nodeLocked(key)
		}
		if n.Minion == nil {
			s.dirty, changed = true, true
		} else {
			changed = !reflect.DeepEqual(schedulingFields(n.Minion), schedulingFields(m))
		}
		n.SetMinion(m)
	}
	s.mu.Unlock()
	if changed {
		s.wakeUnschedulable()
	}
}

// wakeUnschedulable queues every pod that fit nowhere, at once.
func (s *Scheduler) wakeUnschedulable() {
	s.mu.Lock()
	keys := make([]string, 0, len(s.unschedulable))
	for k := range s.unschedulable {
		keys = append(keys, k)
	}
	s.mu.Unlock()
	for _, k := range keys {
		s.queue.Add(k)
	}
}

// sameSpec reports whether two versions of a pod ask for the same placement.
func sameSpec(a, b *api.Pod) bool {
	return reflect.DeepEqual(a.DesiredState.Manifest, b.DesiredState.Manifest) &&
		reflect.DeepEqual(a.NodeSelector, b.NodeSelector) && reflect.DeepEqual(a.Labels, b.Labels)
}
