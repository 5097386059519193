package scheduler

import (
	"encoding/binary"
	"hash/fnv"

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

func tiebreak(seed int64, podKey, minion string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(podKey))
	h.Write([]byte{0})
	h.Write([]byte(minion))
	return h.Sum64()
}

// Schedule chooses the minion for pod among nodes (each a minion with what
// its pods hold). It returns the chosen minion's id, or "" and the reasons
// every minion refused the pod (by minion id).
func Schedule(pod *api.Pod, nodes []*fit.Node, seed int64) (string, map[string][]string) {
	return scheduleInfo(fit.NewPodInfo(pod), nodes, seed)
}

func scheduleInfo(pi *fit.PodInfo, nodes []*fit.Node, seed int64) (string, map[string][]string) {
	var (
		best      *fit.Node
		bestScore score
		reasons   map[string][]string
	)
	podKey := api.Key(pi.Pod)
	for _, n := range nodes {
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
		c := n.Minion.Resources.Capacity
		s := score{
			spread: n.Matching(pi.SpreadSet),
			free:   (freeScore(c.CPU, n.CPU, pi.CPU) + freeScore(c.Memory, n.Memory, pi.Mem)) / 2,
			pods:   n.Pods,
		}
		if best != nil && s.spread == bestScore.spread && s.free == bestScore.free && s.pods == bestScore.pods {
			s.tiebreak = tiebreak(seed, podKey, n.Minion.ID)
			if bestScore.tiebreak == 0 {
				bestScore.tiebreak = tiebreak(seed, podKey, best.Minion.ID)
			}
		}
		if best == nil || s.better(bestScore) {
			best, bestScore = n, s
		}
	}
	if best == nil {
		return "", reasons
	}
	return best.Minion.ID, nil
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
