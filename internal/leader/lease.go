package leader

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/clock"
	"kubelite/internal/logging"
)

// Renewer renews one lease, one attempt a call. It is owned by KeepLease;
// internal/etcd's Election has the real one (a keep-alive of its etcd
// lease), FakeRenewer answers as a test says.
type Renewer interface {
	// Renew renews the lease once and returns the time the server granted
	// it from then on; ErrLeaseExpired (wrapped) when the server no
	// longer has the lease; any other error for an attempt that failed.
	// It must return soon once ctx ends.
	Renew(ctx context.Context) (time.Duration, error)
}

// ErrLeaseExpired is what a Renewer returns when the server no longer has
// the lease: it expired (or was revoked) there.
var ErrLeaseExpired = errors.New("the lease expired on the server")

// LeaseTiming is when the holder of a lease renews it and when it gives it
// up, as etcd's concurrency package and client-go's leader election do: it
// renews early, tries again soon when a renewal fails or is slow, and gives
// the lease up only when it may really have expired on the server.
type LeaseTiming struct {
	// Margin: a lease counts as lost this long before it may expire on the
	// server, as measured from the START of the latest renewal that
	// succeeded (the server renewed it after that moment, so it expires no
	// earlier than start + TTL). The term's components must stop within
	// it. Required.
	Margin time.Duration
	// Every is how long after the start of the latest successful renewal
	// the next begins (default a fifth of the TTL: a server that stalls
	// every answer is survived for TTL - Margin - Every at worst; renewing
	// an etcd lease is an in-memory update on its leader, no raft write).
	Every time.Duration
	// Retry is how long after an attempt began the next may begin while
	// none succeeded since: after a failure, or beside a slow one that has
	// not answered yet (default a tenth of the TTL, at least 100 ms).
	Retry time.Duration
	// InFlight is how many attempts may wait for an answer at once
	// (default 8): a renewal stuck behind a busy server does not hold the
	// next one up, and the latest to succeed counts.
	InFlight int
}

// withDefaults fills the zero fields for a lease of ttl.
func (t LeaseTiming) withDefaults(ttl time.Duration) LeaseTiming {
	if t.Every <= 0 {
		t.Every = ttl / 5
	}
	if t.Retry <= 0 {
		t.Retry = max(100*time.Millisecond, ttl/10)
	}
	if t.InFlight <= 0 {
		t.InFlight = 8
	}
	return t
}

// leaseState is what the holder knows of its lease.
type leaseState struct {
	renewed  time.Time     // start of the latest renewal that succeeded (or of the grant)
	ttl      time.Duration // what that renewal granted
	tried    time.Time     // start of the latest attempt (zero: none yet)
	inFlight int           // attempts not answered yet
}

// leaseStep is what to do now.
type leaseStep struct {
	lost  bool      // the lease may expire on the server within the margin: give it up
	renew bool      // begin an attempt now
	wake  time.Time // else look again then (or at an attempt's answer)
}

// deadline is when the lease counts as lost.
func (s leaseState) deadline(t LeaseTiming) time.Time { return s.renewed.Add(s.ttl - t.Margin) }

// decideLease is the holder's decision at now: lost once the deadline
// passed; else renew when the next renewal is due (Every after the latest
// success began, and Retry after the latest attempt began) and fewer than
// InFlight attempts wait; else wake at the earlier of that and the
// deadline.
func decideLease(t LeaseTiming, s leaseState, now time.Time) leaseStep {
	deadline := s.deadline(t)
	if !now.Before(deadline) {
		return leaseStep{lost: true}
	}
	due := s.renewed.Add(t.Every)
	if !s.tried.IsZero() {
		if retry := s.tried.Add(t.Retry); retry.After(due) {
			due = retry
		}
	}
	if s.inFlight >= t.InFlight {
		return leaseStep{wake: deadline}
	}
	if !now.Before(due) {
		return leaseStep{renew: true}
	}
	if due.Before(deadline) {
		return leaseStep{wake: due}
	}
	return leaseStep{wake: deadline}
}

// renewal is one attempt's answer.
type renewal struct {
	start time.Time
	ttl   time.Duration
	err   error
}

// KeepLease renews a lease of ttl, granted by a request that began at
// granted, on clk with timing, until ctx ends (nil) or the lease may have
// expired on the server, or has (an error saying since when it was not
// renewed, and the last attempt's error). Attempts still waiting are
// cancelled and waited for before it returns.
func KeepLease(ctx context.Context, clk clock.Clock, log *logrus.Entry, timing LeaseTiming, granted time.Time, ttl time.Duration, r Renewer) error {
	return keepLease(ctx, clk, log, timing, granted, ttl, r, func() {})
}

// keepLease is KeepLease calling answered once each attempt's answer has
// been taken into account (tests wait for it before moving the clock).
func keepLease(ctx context.Context, clk clock.Clock, log *logrus.Entry, timing LeaseTiming, granted time.Time, ttl time.Duration, r Renewer, answered func()) error {
	log = logging.OrDiscard(log)
	timing = timing.withDefaults(ttl)
	actx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	// Each attempt answers once, into room kept for it: none blocks.
	answers := make(chan renewal, timing.InFlight)
	s := leaseState{renewed: granted, ttl: ttl}
	var lastErr error
	failed := 0
	// take takes an attempt's answer into account; an error ends the lease.
	take := func(a renewal) error {
		defer answered()
		s.inFlight--
		took := clk.Since(a.start)
		switch {
		case errors.Is(a.err, ErrLeaseExpired):
			return fmt.Errorf("lease of %s renewed %s ago: %w", s.ttl, clk.Since(s.renewed).Round(time.Millisecond), a.err)
		case a.err != nil:
			failed++
			lastErr = a.err
			log.WithError(a.err).WithField("took", took.Round(time.Millisecond)).Debug("lease renewal failed; trying again")
		case a.ttl <= 0:
			return fmt.Errorf("lease of %s renewed %s ago: %w (granted %s)", s.ttl, clk.Since(s.renewed).Round(time.Millisecond), ErrLeaseExpired, a.ttl)
		default:
			if !a.start.Before(s.renewed) {
				s.renewed, s.ttl = a.start, a.ttl
			}
			if took > timing.Every {
				log.WithField("took", took.Round(time.Millisecond)).Debug("lease renewal slow; renewed within its time")
			}
			failed, lastErr = 0, nil
		}
		return nil
	}
	for {
		now := clk.Now()
		step := decideLease(timing, s, now)
		switch {
		case step.lost:
			// An answer that came as the deadline passed may have renewed it.
			select {
			case a := <-answers:
				if err := take(a); err != nil {
					return err
				}
				continue
			default:
			}
			err := fmt.Errorf("lease of %s not renewed since %s ago (%d attempts failed, %d waiting)",
				s.ttl, now.Sub(s.renewed).Round(time.Millisecond), failed, s.inFlight)
			if lastErr != nil {
				err = fmt.Errorf("%w: last: %w", err, lastErr)
			}
			return err
		case step.renew:
			s.tried, s.inFlight = now, s.inFlight+1
			wg.Add(1)
			go func(start time.Time) {
				defer wg.Done()
				granted, err := r.Renew(actx)
				answers <- renewal{start: start, ttl: granted, err: err}
			}(now)
			continue
		}
		timer := clk.NewTimerAt(step.wake) // a deadline: the clock may have moved since now was read
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C():
		case a := <-answers:
			timer.Stop()
			if err := take(a); err != nil {
				return err
			}
		}
	}
}
