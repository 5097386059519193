package docker

import (
	"sync"
	"time"

	"kubelite/internal/runtime"
)

// inspectCache keeps what List learnt by inspecting each container, by
// container ID, with the State the engine's container list gave when it was
// inspected. List inspects a container again only when that State differs
// (created, running, paused, exited: every change kubelite makes or sees
// through the engine moves it) or the entry was dropped: by this runtime's
// own Start, Stop, Kill and Remove of the container, and by a die event seen
// on a subscription (Events), which also catches a restart in place that no
// List saw half-way. Without it, every List inspected every container it
// returned: a kubelet resyncing 100 pods every 10 s made 100 lists and 200
// inspects of containers that had not changed, each an engine round trip and
// an 8 KB JSON decode, on the engine that starts the new pods.
//
// What the engine can change without a State change and without a die
// event is not seen until the entry goes: a network connected or
// disconnected by hand (the IP). Entries not returned by any List for
// cacheIdle are dropped at the next List after it.
type inspectCache struct {
	mu      sync.Mutex
	m       map[string]cachedInspect
	swept   time.Time
	now     func() time.Time
	drops   uint64 // drop calls so far: an inspect begun before one is not kept
	inspect int    // inspects made by List (tests)
}

type cachedInspect struct {
	state string // the container list's State when inspected
	c     runtime.Container
	seen  time.Time
}

const cacheIdle = 5 * time.Minute

func newInspectCache() *inspectCache {
	return &inspectCache{m: map[string]cachedInspect{}, now: time.Now}
}

// get returns the cached inspect of id if it was taken in state; else the
// token put needs.
func (ic *inspectCache) get(id, state string) (runtime.Container, uint64, bool) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	e, ok := ic.m[id]
	if !ok || e.state != state {
		return runtime.Container{}, ic.drops, false
	}
	e.seen = ic.now()
	ic.m[id] = e
	return e.c, 0, true
}

// put records the inspect of id taken while the list showed state, unless
// a drop came after get handed out token: that inspect may predate what
// the drop announced (a restart in place keeps the State "running").
func (ic *inspectCache) put(id, state string, c runtime.Container, token uint64) {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	ic.inspect++
	if ic.drops != token {
		return
	}
	ic.m[id] = cachedInspect{state: state, c: c, seen: ic.now()}
}

// drop forgets id: its state is changing or it is gone.
func (ic *inspectCache) drop(id string) {
	ic.mu.Lock()
	ic.drops++
	delete(ic.m, id)
	ic.mu.Unlock()
}

// sweep drops entries no List returned for cacheIdle (containers removed
// behind this runtime's back), at most once per cacheIdle.
func (ic *inspectCache) sweep() {
	ic.mu.Lock()
	defer ic.mu.Unlock()
	now := ic.now()
	if now.Sub(ic.swept) < cacheIdle {
		return
	}
	ic.swept = now
	for id, e := range ic.m {
		if now.Sub(e.seen) >= cacheIdle {
			delete(ic.m, id)
		}
	}
}
