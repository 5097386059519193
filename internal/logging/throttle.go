package logging

import (
	"sync"
	"time"
)

// Throttle lets one log line per key through every interval and counts the
// ones it held back, so that a flood (refused connections, a store's
// warnings while its disk stalls) logs a line an interval, the next one
// saying how many it stood for. Keys are the kinds of line (a handful per
// user); at most MaxThrottleKeys are remembered. Safe for concurrent use.
// The caller passes the time of each line, so tests need no clock.
type Throttle struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]*throttled
}

type throttled struct {
	logged time.Time // when the last line let through was
	held   int       // lines held back since
}

// MaxThrottleKeys bounds the keys a Throttle remembers; past it, keys whose
// interval has passed are forgotten, and a new key's lines all go through
// while every remembered one is within its interval.
const MaxThrottleKeys = 256

// NewThrottle returns a Throttle letting a line per key through every
// interval.
func NewThrottle(every time.Duration) *Throttle {
	return &Throttle{every: every, last: map[string]*throttled{}}
}

// Admit decides on a line of key at now: log it, saying that held lines
// like it were held back since the one logged at since; or hold it back
// (log false).
func (t *Throttle) Admit(key string, now time.Time) (log bool, held int, since time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p, ok := t.last[key]
	if ok && now.Sub(p.logged) < t.every {
		p.held++
		return false, 0, time.Time{}
	}
	if !ok {
		if len(t.last) >= MaxThrottleKeys {
			for k, q := range t.last {
				if now.Sub(q.logged) >= t.every {
					delete(t.last, k)
				}
			}
			if len(t.last) >= MaxThrottleKeys {
				return true, 0, time.Time{}
			}
		}
		p = &throttled{}
		t.last[key] = p
	}
	held, since = p.held, p.logged
	p.logged, p.held = now, 0
	return true, held, since
}
