package leader

import (
	"context"
	"errors"
	"sync"
	"time"
)

// FakeElection is an in-memory election for tests: candidates from
// Candidate campaign in order of arrival. A lease expiry has two steps, as
// with etcd: Expire closes the leader's Lost (its client gave up renewing),
// and HandOver, later, elects the next candidate (the server let the lease
// go). Resign hands over at once.
type FakeElection struct {
	mu      sync.Mutex
	leader  *fakeTerm
	waiting []*fakeWait
	changed chan struct{}
}

type fakeWait struct {
	id    string
	ready chan *fakeTerm
}

type fakeTerm struct {
	e    *FakeElection
	id   string
	lost chan struct{}
	once sync.Once
}

// NewFakeElection returns an election with no leader.
func NewFakeElection() *FakeElection { return &FakeElection{changed: make(chan struct{})} }

// Candidate returns the Elector of one candidate.
func (e *FakeElection) Candidate(id string) Elector { return &fakeCandidate{e: e, id: id} }

// Leader returns the current leader's identity ("" when none).
func (e *FakeElection) Leader() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader == nil {
		return ""
	}
	return e.leader.id
}

// Waiting returns the candidates waiting to lead, in order.
func (e *FakeElection) Waiting() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	for _, w := range e.waiting {
		ids = append(ids, w.id)
	}
	return ids
}

// Changed returns a channel closed at the next change of leader or of the
// candidates waiting.
func (e *FakeElection) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// Expire ends id's term: its Lost closes; the next candidate is elected
// by HandOver. It reports whether id was leading.
func (e *FakeElection) Expire(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader == nil || e.leader.id != id {
		return false
	}
	t := e.leader
	t.once.Do(func() { close(t.lost) })
	return true
}

// HandOver elects the next candidate once the leader's term was expired;
// it reports whether it did.
func (e *FakeElection) HandOver() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader == nil {
		return false
	}
	select {
	case <-e.leader.lost:
		e.handOverLocked()
		return true
	default:
		return false
	}
}

// handOverLocked clears the leader and elects the first waiting candidate.
func (e *FakeElection) handOverLocked() {
	e.leader = nil
	if len(e.waiting) > 0 {
		w := e.waiting[0]
		e.waiting = e.waiting[1:]
		e.leader = &fakeTerm{e: e, id: w.id, lost: make(chan struct{})}
		w.ready <- e.leader
	}
	close(e.changed)
	e.changed = make(chan struct{})
}

type fakeCandidate struct {
	e  *FakeElection
	id string
}

func (c *fakeCandidate) Campaign(ctx context.Context) (Term, error) {
	e := c.e
	e.mu.Lock()
	if e.leader == nil {
		e.leader = &fakeTerm{e: e, id: c.id, lost: make(chan struct{})}
		close(e.changed)
		e.changed = make(chan struct{})
		t := e.leader
		e.mu.Unlock()
		return t, nil
	}
	w := &fakeWait{id: c.id, ready: make(chan *fakeTerm, 1)}
	e.waiting = append(e.waiting, w)
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
	select {
	case t := <-w.ready:
		return t, nil
	case <-ctx.Done():
		e.mu.Lock()
		defer e.mu.Unlock()
		for i, x := range e.waiting {
			if x == w {
				e.waiting = append(e.waiting[:i], e.waiting[i+1:]...)
				return nil, ctx.Err()
			}
		}
		// Elected just as ctx ended: hand the term back.
		t := <-w.ready
		t.once.Do(func() { close(t.lost) })
		if e.leader == t {
			e.handOverLocked()
		}
		return nil, ctx.Err()
	}
}

func (c *fakeCandidate) Leader(context.Context) (string, error) { return c.e.Leader(), nil }

func (t *fakeTerm) Lost() <-chan struct{} { return t.lost }

func (t *fakeTerm) Resign(context.Context) error {
	e := t.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader != t {
		return errors.New("fake election: not the leader")
	}
	// An expired term can still resign: the lease goes at once.
	t.once.Do(func() { close(t.lost) })
	e.handOverLocked()
	return nil
}

// FakeRenewer is a Renewer for tests: every attempt waits, in order of
// arrival, until the test takes it with Next and answers it.
type FakeRenewer struct {
	attempts chan *FakeAttempt
}

// FakeAttempt is one attempt of a FakeRenewer, waiting for its answer.
type FakeAttempt struct {
	answer chan fakeAnswer
}

type fakeAnswer struct {
	ttl time.Duration
	err error
}

// NewFakeRenewer returns a FakeRenewer with no attempt yet.
func NewFakeRenewer() *FakeRenewer { return &FakeRenewer{attempts: make(chan *FakeAttempt)} }

// Renew implements Renewer: it waits for the test's Next, then its Answer,
// or ctx's end (ctx.Err()).
func (f *FakeRenewer) Renew(ctx context.Context) (time.Duration, error) {
	a := &FakeAttempt{answer: make(chan fakeAnswer, 1)}
	select {
	case f.attempts <- a:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case r := <-a.answer:
		return r.ttl, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Next waits for the next attempt (ctx.Err() when ctx ends first).
func (f *FakeRenewer) Next(ctx context.Context) (*FakeAttempt, error) {
	select {
	case a := <-f.attempts:
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Answer ends the attempt: the lease granted for ttl, or err. Only the
// first answer counts.
func (a *FakeAttempt) Answer(ttl time.Duration, err error) {
	select {
	case a.answer <- fakeAnswer{ttl: ttl, err: err}:
	default:
	}
}
