package testutil

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// Condition is what Eventually polls: a predicate, or a check whose error
// says what is still wrong (reported when time runs out).
type Condition interface {
	func() bool | func() error
}

var errNotYet = errors.New("condition not met")

// Eventually polls cond until it holds (true, or a nil error) and returns
// how long that took; once timeout has passed it fails t with msg
// (formatted with args) and cond's last error. It polls at once, then after
// 1 ms, backing off to every 50 ms. It is for real-world effects (a watch to
// arrive, a cache to fill, a rule to answer); it is no way to assert that
// something does NOT happen: use the fake clock (clock.Fake.BlockUntil and
// Waiters) or an explicit signal for that.
func Eventually[C Condition](t testing.TB, timeout time.Duration, cond C, msg string, args ...any) time.Duration {
	t.Helper()
	var check func() error
	switch f := any(cond).(type) {
	case func() bool:
		check = func() error {
			if f() {
				return nil
			}
			return errNotYet
		}
	case func() error:
		check = f
	}
	start := time.Now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	interval := time.Millisecond
	for {
		err := check()
		if err == nil {
			return time.Since(start)
		}
		poll := time.NewTimer(interval)
		select {
		case <-poll.C:
		case <-deadline.C:
			poll.Stop()
			if err = check(); err == nil {
				return time.Since(start)
			}
			what := fmt.Sprintf(msg, args...)
			if errors.Is(err, errNotYet) {
				t.Fatalf("not within %s: %s", timeout, what)
			}
			t.Fatalf("not within %s: %s: %v", timeout, what, err)
			return time.Since(start)
		}
		interval = min(interval*2, 50*time.Millisecond)
	}
}
