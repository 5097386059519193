package clock

import (
	"context"
	"testing"
	"time"
)

var t0 = time.Unix(1000, 0)

func fired(ch <-chan time.Time) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestFakeTimers(t *testing.T) {
	cases := []struct {
		name  string
		d     time.Duration
		step  time.Duration
		stop  bool
		fires bool
		left  int
		at    bool // NewTimerAt(t0 + d), not NewTimer(d)
	}{
		{"due", time.Second, time.Second, false, true, 0, false},
		{"not yet", time.Second, time.Second - 1, false, false, 1, false},
		{"stopped", time.Second, time.Hour, true, false, 0, false},
		{"zero fires at once", 0, 0, false, true, 0, false},
		{"at: due", time.Second, time.Second, false, true, 0, true},
		{"at: not yet", time.Second, time.Second - 1, false, false, 1, true},
		{"at: stopped", time.Second, time.Hour, true, false, 0, true},
		{"at: a time passed fires at once", -time.Second, 0, false, true, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFake(t0)
			var tm Timer
			if tc.at {
				tm = f.NewTimerAt(t0.Add(tc.d))
			} else {
				tm = f.NewTimer(tc.d)
			}
			if tc.stop && !tm.Stop() {
				t.Fatal("Stop of a pending timer returned false")
			}
			f.Step(tc.step)
			if got := fired(tm.C()); got != tc.fires {
				t.Fatalf("fired %v, want %v", got, tc.fires)
			}
			if n := f.Waiters(); n != tc.left {
				t.Fatalf("%d waiters left, want %d", n, tc.left)
			}
		})
	}
}

func TestFakeFiresEarliestFirst(t *testing.T) {
	f := NewFake(t0)
	late, early := f.After(2*time.Second), f.After(time.Second)
	f.Step(time.Second)
	if !fired(early) || fired(late) {
		t.Fatal("want only the 1s timer fired")
	}
	f.Set(t0.Add(5 * time.Second))
	if got := <-late; !got.Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("late fired with %v", got)
	}
}

func TestBlockUntil(t *testing.T) {
	f := NewFake(t0)
	done := make(chan error, 1)
	go func() { done <- f.BlockUntil(context.Background(), 2) }()
	f.After(time.Second)
	select {
	case err := <-done:
		t.Fatalf("returned with one timer: %v", err)
	default:
	}
	f.NewTimer(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.BlockUntil(ctx, 3); err == nil {
		t.Fatal("BlockUntil(3) with 2 timers and a cancelled ctx returned nil")
	}
}
