package scheduler

import (
	"kubelite/internal/api"
	"kubelite/internal/fit"
)

// score is how good a fitting minion is; lower compares better.
type score struct {
	spread   int    // pods of the same kind already there
	free     int64  // least-requested score, 0..1000 (higher is better)
	pods     int    // pods already there
	tiebreak uint64 // hash(seed, pod, minion)
}

func (a score) better(b score) bool {
	if a.spread != b.spread {
		return a.spread < b.spread
	}
	if a.free != b.free {
		return a.free > b.free
	}
	if a.pods != b.pods {
		return a.pods < b.pods
	}
	return a.tiebreak < b.tiebreak
}

func freeScore(capacity, used, req int64) int64 {
	if capacity <= 0 {
		return 1000
	}
	left := capacity - used - req
	if left < 0 {
		return 0
	}
	return left * 1000 / capacity
}

func mix64(x uint64) uint64 { // splitmix64 finalizer
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashString is FNV-1a of h's bytes then s, without allocating.
func hashString(h uint64, s string) uint64 {
	const prime = 1099511628211
	x := uint64(14695981039346656037)
	for i := 0; i < 8; i++ {
		x ^= (h >> (8 * i)) & 0xff
		x *= prime
	}
	for i := 0; i < len(s); i++ {
		x ^= uint64(s[i])
		x *= prime
	}
	return x
}

// Schedule chooses the minion for pod among nodes (each a minion with what
// its pods hold). It returns the chosen minion's id, or "" and the reasons
// every minion refused the pod (by minion id).
func Schedule(pod *api.Pod, nodes []*fit.Node, seed int64) (string, map[string][]string) {
	pi := fit.NewPodInfo(pod)
	var keys []string
	if len(pi.SpreadSet) > 0 {
		seen := map[string]bool{}
		for _, n := range nodes {
			n.LabelSets(func(k string, labels map[string]string) {
				if !seen[k] && fit.IsSubset(pi.SpreadSet, labels) {
					seen[k] = true
					keys = append(keys, k)
				}
			})
		}
	}
	spread := func(j int) int {
		sum := 0
		for _, k := range keys {
			sum += nodes[j].GroupCount(k)
		}
		return sum
	}
	host, reasons, _ := scheduleInfo(pi, nodes, spread, func(j int) uint64 { return hashString(0, nodes[j].Minion.ID) }, seed, 0, 0)
	return host, reasons
}

// Sampling large clusters, as upstream's scheduler does
// (percentageOfNodesToScore): past minSampled minions a decision stops
// looking once it has found feasibleToFind(n) minions that fit, and scores
// only those; the next decision starts where this one stopped, so every
// minion is looked at in turn. At 5,000 minions a decision reads 500 of
// them instead of 5,000 (it was 11% of a loaded master's CPU in the
// 150,000-pod run); up to 100 minions it reads all of them, as before.
const (
	minSampled        = 100
	minSampledPercent = 5
)

// feasibleToFind is how many fitting minions a decision among n looks for:
// all up to 100; beyond, 50% less a point per 125 minions (at least 5%),
// and never fewer than 100.
func feasibleToFind(n int) int {
	if n <= minSampled {
		return n
	}
	pct := max(50-n/125, minSampledPercent)
	return max(n*pct/100, minSampled)
}

// scheduleInfo is Schedule with the pod precomputed and spread(j), the
// number of pods of the pod's kind on nodes[j], and idHash(j) the
// hashString(0, id) of nodes[j]'s minion. It looks at nodes from index
// start on (wrapping), and stops once it has found enough fitting ones
// (enough <= 0: all); next is where the following decision starts.
func scheduleInfo(pi *fit.PodInfo, nodes []*fit.Node, spread func(j int) int, idHash func(j int) uint64, seed int64, enough, start int) (host string, reasons map[string][]string, next int) {
	var (
		best      *fit.Node
		bestScore score
	)
	podHash := hashString(uint64(seed), api.Key(pi.Pod))
	tiebreak := func(j int) uint64 { return mix64(podHash ^ idHash(j)) }
	bestJ, found := -1, 0
	if start < 0 || start >= len(nodes) {
		start = 0
	}
	next = start
	for i := range nodes {
		if enough > 0 && found >= enough {
			break
		}
		j := start + i
		if j >= len(nodes) {
			j -= len(nodes)
		}
		next = j + 1
		n := nodes[j]
		if n.Minion == nil {
			continue
		}
		if r := n.CheckInfo(pi); len(r) > 0 {
			if reasons == nil {
				reasons = map[string][]string{}
			}
			reasons[n.Minion.ID] = r
			continue
		}
		found++
		c := n.Minion.Resources.Capacity
		s := score{
			free: (freeScore(c.CPU, n.CPU, pi.CPU) + freeScore(c.Memory, n.Memory, pi.Mem)) / 2,
			pods: n.Pods,
		}
		s.spread = spread(j)
		if best != nil && s.spread == bestScore.spread && s.free == bestScore.free && s.pods == bestScore.pods {
			s.tiebreak = tiebreak(j)
			if bestScore.tiebreak == 0 {
				bestScore.tiebreak = tiebreak(bestJ)
			}
		}
		if best == nil || s.better(bestScore) {
			best, bestScore, bestJ = n, s, j
		}
	}
	if next >= len(nodes) {
		next = 0
	}
	if best == nil {
		return "", reasons, next
	}
	return best.Minion.ID, nil, next
}

// ScheduleMinions is Schedule over plain lists: the minions and the pods
// bound to each (by minion id).
func ScheduleMinions(pod *api.Pod, minions []*api.Minion, podsByMinion map[string][]*api.Pod, seed int64) (string, map[string][]string) {
	nodes := make([]*fit.Node, 0, len(minions))
	for _, m := range minions {
		n := fit.NewNode(m)
		for _, p := range podsByMinion[m.ID] {
			n.Add(p)
		}
		nodes = append(nodes, n)
	}
	return Schedule(pod, nodes, seed)
}

func summarize(total int, reasons map[string][]string) string { return fit.Summarize(total, reasons) }
