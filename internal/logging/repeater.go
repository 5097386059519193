package logging

import (
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/clock"
)

// Default intervals of a Repeater: the second warning comes 1 s after the
// first, then 2 s, 4 s, ... and at most every 5 minutes.
const (
	DefaultMinInterval = time.Second
	DefaultMaxInterval = 5 * time.Minute
)

// RepeaterConfig says what a Repeater reports.
type RepeaterConfig struct {
	Log   *logrus.Entry // nil: Discard
	Clock clock.Clock   // nil: clock.Real
	// What failed, as the start of a sentence: "list pods", "reach the
	// master https://10.0.0.1:8080".
	What string
	// Hint is what to check, for the reader of the warning: "is the master
	// running? kubelite doctor minion". Optional.
	Hint string
	// Min and Max bound the interval between two warnings; it starts at Min
	// and doubles up to Max. Zero: DefaultMinInterval, DefaultMaxInterval.
	Min, Max time.Duration
}

// Repeater logs an error that repeats in a retry loop: the first failure at
// warning level, then at most once per growing interval
//
//	list pods failing since 2026-12-04T16:54:03Z (12 times): connection refused; check: HINT
//
// (the failures in between at debug level), and one info line when the loop
// succeeds again:
//
//	list pods recovered after 7.5s (12 failures)
//
// Call Fail with every error and OK with every success; OK without a
// failure before logs nothing.
type Repeater struct {
	cfg RepeaterConfig

	mu       sync.Mutex
	n        int       // failures since the last success
	since    time.Time // first failure of the run
	next     time.Time // no warning before
	interval time.Duration
}

// NewRepeater returns a Repeater with no failure yet.
func NewRepeater(cfg RepeaterConfig) *Repeater {
	cfg.Log = OrDiscard(cfg.Log)
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Min <= 0 {
		cfg.Min = DefaultMinInterval
	}
	if cfg.Max < cfg.Min {
		cfg.Max = max(DefaultMaxInterval, cfg.Min)
	}
	return &Repeater{cfg: cfg}
}

// Fail records one failure and logs it if it is the first or its interval
// has passed.
func (r *Repeater) Fail(err error) {
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	r.n++
	n, since := r.n, r.since
	first := n == 1
	warn := first || !now.Before(r.next)
	if first {
		r.since, since = now, now
		r.interval = r.cfg.Min
	} else if warn {
		r.interval = min(r.interval*2, r.cfg.Max)
	}
	if warn {
		r.next = now.Add(r.interval)
	}
	r.mu.Unlock()

	if !first && !warn && !r.cfg.Log.Logger.IsLevelEnabled(logrus.DebugLevel) {
		return // the quiet path of a retry loop: no allocation
	}
	log := r.cfg.Log.WithTime(now)
	switch {
	case first:
		log.Warn(r.cfg.What + " failed: " + errText(err) + r.hint())
	case warn:
		log.Warnf("%s failing since %s (%d times): %s%s",
			r.cfg.What, since.UTC().Format(time.RFC3339), n, errText(err), r.hint())
	default:
		log.Debugf("%s failed (%d times): %s", r.cfg.What, n, errText(err))
	}
}

// OK records a success; after failures it logs that the loop recovered.
func (r *Repeater) OK() {
	now := r.cfg.Clock.Now()
	r.mu.Lock()
	n, since := r.n, r.since
	r.n = 0
	r.mu.Unlock()
	if n == 0 {
		return
	}
	r.cfg.Log.WithTime(now).Infof("%s recovered after %s (%d %s)", r.cfg.What, roundDuration(now.Sub(since)), n, plural(n, "failure"))
}

// Failing returns the failures since the last success and when the first
// of them happened (zero when none).
func (r *Repeater) Failing() (int, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		return 0, time.Time{}
	}
	return r.n, r.since
}

func (r *Repeater) hint() string {
	if r.cfg.Hint == "" {
		return ""
	}
	return "; check: " + r.cfg.Hint
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// roundDuration keeps a duration short: ms below 10 s, then 0.1 s, then s.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < 10*time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return fmt.Sprint(word, "s")
}
