package endpoint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Timeouts of a Set's transport (Endpoint.RoundTripper with Others): a
// master that does not take a connection within FailoverDialTimeout, or
// does not answer a request within FailoverHeaderTimeout, is left for the
// next. A master on a dead host, or that lost etcd's quorum (it answers 503
// within 5 s), is so left in well under 2 s once one request has seen it.
const (
	FailoverDialTimeout   = time.Second
	FailoverHeaderTimeout = 10 * time.Second
)

// Set is a RoundTripper over several masters of one cluster: every request
// addressed to one of them goes to the current master; when that master
// fails (see Failover) the request is sent to the next, and the one that
// answers becomes the current master for the requests that follow. It stays
// current until it fails in turn: nothing moves back by itself.
//
// Requests to any other address pass through unchanged. A request whose
// body cannot be replayed (no GetBody) is sent to the current master only.
type Set struct {
	masters []*url.URL
	next    http.RoundTripper
	log     *logrus.Entry

	mu  sync.Mutex
	cur int
}

// NewSet returns a Set over the masters' URLs (scheme://host:port, as
// Normalize returns them), sending through next; the first is current.
func NewSet(urls []string, next http.RoundTripper) *Set {
	s := &Set{next: next, log: logrus.WithField("component", "endpoint")}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			u = &url.URL{Scheme: "invalid", Host: raw}
		}
		s.masters = append(s.masters, u)
	}
	return s
}

// Current returns the URL of the master requests go to now.
func (s *Set) Current() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return origin(s.masters[s.cur])
}

// URLs returns every master's URL, in the order given.
func (s *Set) URLs() []string {
	out := make([]string, len(s.masters))
	for i, u := range s.masters {
		out[i] = origin(u)
	}
	return out
}

func origin(u *url.URL) string { return u.Scheme + "://" + u.Host }

// member returns the index of the master u is addressed to, -1 for none.
func (s *Set) member(u *url.URL) int {
	for i, m := range s.masters {
		if strings.EqualFold(m.Host, u.Host) && m.Scheme == u.Scheme {
			return i
		}
	}
	return -1
}

// Failover reports whether a request that got resp or err from one master
// should be sent to the next: the master could not be reached (refused,
// unreachable, dial or answer timeout, connection reset), or it answered
// 503 (a master that lost etcd's quorum, or is stopping), 502 or 504. A
// request that is not idempotent (POST) moves on only when it provably did
// not reach the master's registry: a failed dial, or a 503.
func Failover(method string, resp *http.Response, err error) bool {
	idempotent := method != http.MethodPost && method != http.MethodPatch
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return false
		}
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return true
		}
		return idempotent
	}
	switch resp.StatusCode {
	case http.StatusServiceUnavailable:
		return true
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		return idempotent
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (s *Set) RoundTrip(req *http.Request) (*http.Response, error) {
	first := s.member(req.URL)
	if first < 0 {
		return s.next.RoundTrip(req)
	}
	s.mu.Lock()
	start := s.cur
	s.mu.Unlock()
	n := len(s.masters)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	var (
		tried  []Attempt
		answer *http.Response // the last master's failing answer, kept open
	)
	for i := 0; i < n && (i == 0 || replayable); i++ {
		idx := (start + i) % n
		r, err := s.request(req, idx, i > 0)
		if err != nil {
			return nil, err
		}
		resp, err := s.next.RoundTrip(r)
		if req.Context().Err() != nil || !Failover(req.Method, resp, err) {
			if answer != nil {
				drain(answer)
			}
			if err == nil || req.Context().Err() == nil {
				s.settle(start, idx, tried)
			}
			if err != nil {
				err = &MasterError{URL: origin(s.masters[idx]), Err: err}
			}
			return resp, err
		}
		a := Attempt{URL: origin(s.masters[idx]), Err: err}
		if err == nil {
			a.Err = fmt.Errorf("answered %s", resp.Status)
			if answer != nil {
				drain(answer)
			}
			answer = resp
		}
		tried = append(tried, a)
	}
	s.fail(start, (start+len(tried)-1)%n)
	if answer != nil {
		// A master answered (a 503 that names the lost quorum): the caller
		// gets its answer, not a connection error.
		return answer, nil
	}
	return nil, &AllFailedError{Tried: tried, Untried: n - len(tried)}
}

// request returns req addressed to master idx; again: a body is replayed.
func (s *Set) request(req *http.Request, idx int, again bool) (*http.Request, error) {
	m := s.masters[idx]
	if m.Scheme == "invalid" {
		return nil, fmt.Errorf("master address %q: want scheme://host:port", m.Host)
	}
	r := req.Clone(req.Context())
	r.URL.Scheme, r.URL.Host, r.Host = m.Scheme, m.Host, ""
	if again && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, fmt.Errorf("replay the request to %s: %w", origin(m), err)
		}
		r.Body = b
	}
	return r, nil
}

// settle makes idx current after the masters before it failed.
func (s *Set) settle(start, idx int, tried []Attempt) {
	if idx == start {
		return
	}
	s.mu.Lock()
	moved := s.cur == start
	if moved {
		s.cur = idx
	}
	s.mu.Unlock()
	if moved {
		s.log.Warnf("master %s failed (%v): requests go to %s now", tried[0].URL, tried[0].Err, origin(s.masters[idx]))
	}
}

// fail moves past the failed master when every master failed, so the next
// request starts with the one after it.
func (s *Set) fail(start, idx int) {
	s.mu.Lock()
	if s.cur == start {
		s.cur = (idx + 1) % len(s.masters)
	}
	s.mu.Unlock()
}

// CloseIdleConnections closes the idle connections of the transport.
func (s *Set) CloseIdleConnections() {
	if c, ok := s.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// MasterError is a request that failed at one master of a Set in a way
// that does not let it be sent to another (a POST that timed out may have
// been done): it names that master.
type MasterError struct {
	URL string
	Err error
}

func (e *MasterError) Error() string { return e.URL + ": " + unwrapURL(e.Err).Error() }
func (e *MasterError) Unwrap() error { return e.Err }

// Attempt is one master of a Set that failed a request, and why.
type Attempt struct {
	URL string
	Err error
}

// AllFailedError is a request that no master of a Set answered: each master
// tried and why it failed.
type AllFailedError struct {
	Tried   []Attempt
	Untried int // masters not tried (the body could not be sent again)
}

func (e *AllFailedError) Error() string {
	var b strings.Builder
	if e.Untried == 0 {
		fmt.Fprintf(&b, "none of the %d masters answered:", len(e.Tried))
	} else {
		fmt.Fprintf(&b, "the master failed and the request cannot be sent again to the %d others:", e.Untried)
	}
	for i, a := range e.Tried {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " %s: %v", a.URL, unwrapURL(a.Err))
	}
	return b.String()
}

// Unwrap returns each master's error (errors.Is(err, syscall.ECONNREFUSED)
// holds when one was refused).
func (e *AllFailedError) Unwrap() []error {
	out := make([]error, len(e.Tried))
	for i, a := range e.Tried {
		out[i] = a.Err
	}
	return out
}

// Masters returns the URLs tried.
func (e *AllFailedError) Masters() []string {
	out := make([]string, len(e.Tried))
	for i, a := range e.Tried {
		out[i] = a.URL
	}
	return out
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
