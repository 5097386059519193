package swarmbench

import (
	"sync"
	"time"
)

// answers tracks which replicas answer HTTP. Each replica is probed on its
// own, one probe of it at a time, and a round of probes waits for them at
// most settle: a probe that hangs (a SYN to an address whose neighbour
// entry waits for an answer holds until its timeout) holds up its own
// replica's answer, never the observation of the others.
type answers struct {
	probe  func(t probeTarget) error
	settle time.Duration

	mu       sync.Mutex
	answered map[string]bool
	inflight map[string]bool
	lastErr  error
	wg       sync.WaitGroup
}

// probeTarget is one replica to probe: key names it (its host, container
// and address), addr is where it answers, via the prober that reaches it.
type probeTarget struct {
	key  string
	addr string
	via  *prober
}

func newAnswers(probe func(probeTarget) error, settle time.Duration) *answers {
	return &answers{probe: probe, settle: settle, answered: map[string]bool{}, inflight: map[string]bool{}}
}

// round starts a probe of each target that has neither answered nor a
// probe in flight, waits at most settle for the probes it started, and
// returns how many of targets have answered.
func (a *answers) round(targets []probeTarget) int {
	var started sync.WaitGroup
	a.mu.Lock()
	for _, t := range targets {
		if a.answered[t.key] || a.inflight[t.key] {
			continue
		}
		a.inflight[t.key] = true
		a.wg.Add(1)
		started.Add(1)
		go func() {
			defer a.wg.Done()
			defer started.Done()
			err := a.probe(t)
			a.mu.Lock()
			defer a.mu.Unlock()
			delete(a.inflight, t.key)
			if err != nil {
				a.lastErr = err
				return
			}
			a.answered[t.key] = true
		}()
	}
	a.mu.Unlock()
	done := make(chan struct{})
	go func() { started.Wait(); close(done) }()
	timer := time.NewTimer(a.settle)
	select {
	case <-done:
	case <-timer.C:
	}
	timer.Stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	ok := 0
	for _, t := range targets {
		if a.answered[t.key] {
			ok++
		}
	}
	return ok
}

// err is the last probe's error, if any failed.
func (a *answers) err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastErr
}

// wait returns once no probe is in flight.
func (a *answers) wait() { a.wg.Wait() }
