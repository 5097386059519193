package scheduler

import (
	"sort"

	"kubelite/internal/api"
	"kubelite/internal/fit"
)

type spreadEntry struct {
	labels map[string]string
	keys   []string
}

type accounted struct {
	host    string
	pod     *api.Pod
	assumed bool // chosen by us, bind not yet seen on the watch
}

// countLocked moves the dense count of p's label set on node n by d.
func (s *Scheduler) countLocked(n *fit.Node, p *api.Pod, d int32) {
	if len(p.Labels) == 0 || fit.Terminated(p) {
		return
	}
	k := fit.LabelKey(p.Labels)
	i := s.idx[n]
	c := s.groupCounts[k]
	if int(i) >= len(c) {
		if d < 0 {
			return
		}
		c = append(c, make([]int32, int(i)+1-len(c))...)
		s.groupCounts[k] = c
	}
	c[i] += d
}

// removeLocked undoes addLocked.
func (s *Scheduler) removeLocked(host string, p *api.Pod) {
	n := s.nodeLocked(host)
	n.Remove(p)
	s.countLocked(n, p, -1)
}

// addLocked accounts p on host and indexes its label set.
func (s *Scheduler) addLocked(host string, p *api.Pod) {
	n := s.nodeLocked(host)
	n.Add(p)
	s.countLocked(n, p, 1)
	if len(p.Labels) == 0 {
		return
	}
	k := fit.LabelKey(p.Labels)
	if _, ok := s.labelSets[k]; ok {
		return
	}
	if len(s.labelSets) >= max(maxLabelSets, s.rebuildAt) {
		s.rebuildSpreadIndexLocked()
		s.rebuildAt = 2 * len(s.labelSets)
	}
	s.labelSets[k] = p.Labels
	for _, e := range s.supersets {
		if fit.IsSubset(e.labels, p.Labels) {
			e.keys = append(e.keys, k)
		}
	}
}

// spreadKeysForLocked returns the label sets whose pods count as the pod's
// kind: those carrying all of its labels (its replication controller's
// pods) and those selected by any service that selects it.
func (s *Scheduler) spreadKeysForLocked(p *api.Pod) []string {
	keys := s.spreadKeysLocked(p.Labels)
	var seen map[string]bool
	ns := p.Namespace
	if ns == "" {
		ns = api.DefaultNamespace
	}
	for _, o := range s.services.List() {
		svc := o.(*api.Service)
		sns := svc.Namespace
		if sns == "" {
			sns = api.DefaultNamespace
		}
		if len(svc.Selector) == 0 || sns != ns || !fit.IsSubset(svc.Selector, p.Labels) {
			continue
		}
		if seen == nil {
			seen = make(map[string]bool, len(keys))
			for _, k := range keys {
				seen[k] = true
			}
			keys = append([]string(nil), keys...) // the cached slice stays as it is
		}
		for _, k := range s.spreadKeysLocked(svc.Selector) {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// maxLabelSets bounds the spreading index: label sets of pods long gone are
// dropped when it is reached.
const maxLabelSets = 20000

// rebuildSpreadIndexLocked keeps only the label sets pods still carry.
func (s *Scheduler) rebuildSpreadIndexLocked() {
	s.labelSets = map[string]map[string]string{}
	for _, n := range s.nodes {
		n.LabelSets(func(k string, labels map[string]string) { s.labelSets[k] = labels })
	}
	s.supersets = map[string]*spreadEntry{}
	for k := range s.groupCounts {
		if _, ok := s.labelSets[k]; !ok {
			delete(s.groupCounts, k)
		}
	}
}

// spreadKeysLocked returns the accounted label sets including labels.
func (s *Scheduler) spreadKeysLocked(labels map[string]string) []string {
	if len(labels) == 0 {
		return nil
	}
	k := fit.LabelKey(labels)
	if e, ok := s.supersets[k]; ok {
		return e.keys
	}
	e := &spreadEntry{labels: labels}
	for gk, gl := range s.labelSets {
		if fit.IsSubset(labels, gl) {
			e.keys = append(e.keys, gk)
		}
	}
	s.supersets[k] = e
	return e.keys
}

func (s *Scheduler) nodeLocked(host string) *fit.Node {
	n := s.nodes[host]
	if n == nil {
		n = fit.NewNode(nil)
		s.nodes[host] = n
		s.idx[n] = int32(len(s.idx))
	}
	return n
}

// candidatesLocked returns the nodes with a known minion, sorted by id,
// rebuilding them (and their spreading indices and hashes) when dirty.
func (s *Scheduler) candidatesLocked() []*fit.Node {
	if s.dirty {
		s.candidates = s.candidates[:0]
		for _, n := range s.nodes {
			if n.Minion != nil {
				s.candidates = append(s.candidates, n)
			}
		}
		sort.Slice(s.candidates, func(i, j int) bool { return s.candidates[i].Minion.ID < s.candidates[j].Minion.ID })
		s.candIdx, s.candHash = s.candIdx[:0], s.candHash[:0]
		for _, n := range s.candidates {
			s.candIdx = append(s.candIdx, s.idx[n])
			s.candHash = append(s.candHash, hashString(0, n.Minion.ID))
		}
		s.dirty = false
	}
	return s.candidates
}
