package swarmbench

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeProbes answers probes by key: a key in hang blocks until release is
// closed, a key in fail fails, any other answers. It counts the probes of
// each key and how many of a key ran at once.
type fakeProbes struct {
	hang    map[string]bool
	fail    map[string]bool
	release chan struct{}

	mu      sync.Mutex
	count   map[string]int
	running map[string]int
	overlap bool
}

func newFakeProbes() *fakeProbes {
	return &fakeProbes{hang: map[string]bool{}, fail: map[string]bool{}, release: make(chan struct{}),
		count: map[string]int{}, running: map[string]int{}}
}

func (f *fakeProbes) probe(t probeTarget) error {
	f.mu.Lock()
	f.count[t.key]++
	f.running[t.key]++
	if f.running[t.key] > 1 {
		f.overlap = true
	}
	hang, fail := f.hang[t.key], f.fail[t.key]
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.running[t.key]--; f.mu.Unlock() }()
	if hang {
		<-f.release
		return errors.New("timeout")
	}
	if fail {
		return errors.New("connection refused")
	}
	return nil
}

func (f *fakeProbes) probes(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.count[key]
}

func targets(keys ...string) []probeTarget {
	var ts []probeTarget
	for _, k := range keys {
		ts = append(ts, probeTarget{key: k, addr: k + ":80"})
	}
	return ts
}

// TestAnswersHangHoldsOnlyItsOwn: while one replica's probe hangs, the
// others' answers are counted, and the hanging one is not probed again
// until its probe returns.
func TestAnswersHangHoldsOnlyItsOwn(t *testing.T) {
	f := newFakeProbes()
	f.hang["a"] = true
	var once sync.Once
	release := func() { once.Do(func() { close(f.release) }) }
	defer release()
	// a's probe returns after 10 s at the latest, so that a round that
	// waited for it fails the test instead of hanging it.
	time.AfterFunc(10*time.Second, release)
	a := newAnswers(f.probe, 5*time.Millisecond)
	start := time.Now()
	ok := a.round(targets("a", "b", "c"))
	for ok < 2 && time.Since(start) < 5*time.Second {
		ok = a.round(targets("a", "b", "c"))
	}
	if ok != 2 || f.probes("a") != 1 || time.Since(start) >= 5*time.Second {
		t.Fatalf("after %v: %d answered, a probed %d times; want b and c counted while a's probe hangs", time.Since(start), ok, f.probes("a"))
	}
	release()
	a.wait()
	if f.overlap {
		t.Error("two probes of one replica ran at once")
	}
}

// TestAnswersRetriesFailures: a failed probe is tried again next round, its
// error kept; an answered replica is not probed again; a replica that
// answered and is gone is not counted.
func TestAnswersRetriesFailures(t *testing.T) {
	f := newFakeProbes()
	f.fail["b"] = true
	a := newAnswers(f.probe, time.Minute) // each round waits for its probes: none hangs
	if ok := a.round(targets("a", "b")); ok != 1 {
		t.Fatalf("first round: %d answered, want 1", ok)
	}
	if a.err() == nil {
		t.Error("b's failure not kept")
	}
	f.mu.Lock()
	f.fail["b"] = false
	f.mu.Unlock()
	if ok := a.round(targets("a", "b")); ok != 2 {
		t.Fatalf("second round: %d answered, want 2", ok)
	}
	if ok := a.round(targets("b", "c")); ok != 2 {
		t.Fatalf("third round (a gone, c new): %d answered, want 2", ok)
	}
	a.wait()
	for key, want := range map[string]int{"a": 1, "b": 2, "c": 1} {
		if n := f.probes(key); n != want {
			t.Errorf("%s probed %d times, want %d", key, n, want)
		}
	}
}
