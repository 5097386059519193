package logging

import (
	"fmt"
	"testing"
	"time"
)

func TestThrottleAdmit(t *testing.T) {
	const every = 10 * time.Second
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	th := NewThrottle(every)
	steps := []struct {
		key  string
		at   time.Duration
		log  bool
		held int
	}{
		{"slow fdatasync", 0, true, 0},
		{"slow fdatasync", time.Second, false, 0},
		{"failed to revoke lease", 2 * time.Second, true, 0}, // another key: its own interval
		{"slow fdatasync", every - time.Nanosecond, false, 0},
		{"failed to revoke lease", 3 * time.Second, false, 0},
		{"slow fdatasync", every, true, 2},                // the interval passed: logged, saying 2 were held back
		{"slow fdatasync", every + time.Second, false, 0}, // a new interval from the last one logged
		{"slow fdatasync", 3 * every, true, 1},
		{"failed to revoke lease", time.Hour, true, 1},
	}
	for i, s := range steps {
		log, held, _ := th.Admit(s.key, t0.Add(s.at))
		if log != s.log || held != s.held {
			t.Fatalf("step %d (%q at %s): log %v held %d, want %v %d", i, s.key, s.at, log, held, s.log, s.held)
		}
	}
}

func TestThrottleSince(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	th := NewThrottle(time.Second)
	th.Admit("k", t0)
	th.Admit("k", t0.Add(time.Millisecond))
	if log, held, since := th.Admit("k", t0.Add(2*time.Second)); !log || held != 1 || !since.Equal(t0) {
		t.Fatalf("after the interval: log %v, held %d since %s; want true, 1 since %s", log, held, since, t0)
	}
}

func TestThrottleBounded(t *testing.T) {
	const every = 10 * time.Second
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	th := NewThrottle(every)
	for i := range 2 * MaxThrottleKeys {
		if log, _, _ := th.Admit(fmt.Sprint("key ", i), t0); !log {
			t.Fatalf("key %d, the first line of its kind, held back", i)
		}
	}
	if n := len(th.last); n > MaxThrottleKeys {
		t.Fatalf("%d keys remembered, bound %d", n, MaxThrottleKeys)
	}
	// Once their intervals passed, the remembered keys make room.
	if log, _, _ := th.Admit("new", t0.Add(every)); !log || len(th.last) > MaxThrottleKeys || th.last["new"] == nil {
		t.Fatalf("a new key after the intervals: logged %v, %d remembered", log, len(th.last))
	}
}
