package httpserve

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
)

// Server is a bound listener with its limits; Serve runs it.
type Server struct {
	cfg        Config
	ln         *listener
	inflight   *slots
	reserved   semaphore // critical requests beyond inflight's cap
	waiting    *slots    // critical requests waiting for a reserved slot
	watches    *slots
	watchesPer *keyedSlots
	rate       *buckets // nil: no rate limit
	rand       func() float64
	warn       *throttle

	stopping context.Context // cancelled when Serve's context ends: ends long-running requests
	stop     context.CancelFunc

	mu     sync.Mutex
	served bool
}

// Stats is a snapshot of what a Server holds open.
type Stats struct {
	Conns    int // admitted connections still open (hijacked ones included)
	Inflight int // requests in flight that are not long-running (reserved slots included)
	Watches  int // long-running requests in flight
}

// Listen binds cfg.Addr now (so a port in use is reported before anything
// else starts) and returns a Server that Serve runs.
func Listen(cfg Config) (*Server, error) {
	if cfg.Handler == nil {
		return nil, errors.New("httpserve: no handler")
	}
	cfg = cfg.withDefaults(fileLimit())
	inner, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			_, port, _ := net.SplitHostPort(cfg.Addr)
			return nil, fmt.Errorf("listen on %s: port %s is already in use (is another kubelite running?)", cfg.Addr, port)
		}
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	warn := newThrottle(10 * time.Second)
	s := &Server{
		cfg:        cfg,
		inflight:   &slots{max: cfg.MaxInflight},
		reserved:   make(semaphore, cfg.ReservedInflight),
		waiting:    &slots{max: cfg.MaxInflight},
		watches:    &slots{max: cfg.MaxWatches},
		watchesPer: newKeyedSlots(cfg.MaxWatchesPerClient),
		rand:       rand.Float64,
		warn:       warn,
	}
	if cfg.RatePerClient > 0 {
		s.rate = newBuckets(cfg.RatePerClient)
	}
	s.stopping, s.stop = context.WithCancel(context.Background())
	s.ln = &listener{
		inner:         inner,
		tls:           serverTLS(cfg.TLS),
		allowPlain:    cfg.AllowPlain,
		sniffTimeout:  cfg.ReadHeaderTimeout,
		conns:         &slots{max: cfg.MaxConns},
		perIP:         newKeyedSlots(cfg.MaxConnsPerClient),
		limitLoopback: cfg.LimitLoopback,
		log:           cfg.Log,
		warn:          warn,
		out:           make(chan net.Conn),
		done:          make(chan struct{}),
		failed:        make(chan struct{}),
		open:          map[*conn]struct{}{},
	}
	return s, nil
}

// Addr returns the address actually bound (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stats returns what the server holds open now.
func (s *Server) Stats() Stats {
	return Stats{Conns: s.ln.conns.count(), Inflight: s.inflight.count() + s.reserved.count(), Watches: s.watches.count()}
}

// Close releases the socket of a Server that Serve will not run (Serve
// closes it itself). Safe to call more than once and after Serve.
func (s *Server) Close() error {
	s.stop()
	err := s.ln.Close()
	s.ln.closeAll()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Serve serves until ctx ends, then shuts down: long-running requests are
// ended at once, other requests get ShutdownGrace to finish, and then every
// connection still open (idle, hijacked, or still being sniffed) is closed.
// It returns nil after a shutdown, or the error that stopped accepting.
// Serve may be called once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.served {
		s.mu.Unlock()
		return fmt.Errorf("serve %s: already served", s.cfg.Name)
	}
	s.served = true
	s.mu.Unlock()

	srv := &http.Server{
		Handler:           s.wrap(s.cfg.Handler),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		WriteTimeout:      s.cfg.WriteTimeout, // cleared per long-running request by wrap
		ErrorLog:          log.New(debugWriter{s.cfg.Log}, "", 0),
		// HTTP/1.1 only: no HTTP/2 over TLS.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	mode := "http"
	if s.ln.tls != nil {
		mode = "https"
		if s.cfg.AllowPlain {
			mode = "https+http"
		}
	}
	s.cfg.Log.WithFields(logrus.Fields{"address": s.Addr(), "mode": mode, "maxConns": s.cfg.MaxConns}).Info("listening")
	s.ln.start()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.ln) }()

	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("serve %s on %s: %w", s.cfg.Name, s.Addr(), err)
		s.stop()
		_ = srv.Close()
	case <-ctx.Done():
		s.stop()
		sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
		if err := srv.Shutdown(sctx); err != nil {
			s.cfg.Log.WithError(err).Warn("requests still running after the shutdown grace; closing their connections")
			_ = srv.Close()
		}
		cancel()
		<-errc
	}
	_ = s.ln.Close()
	s.ln.closeAll()
	s.ln.wait()
	s.cfg.Log.Info("stopped")
	return serveErr
}

// takeReserved takes a reserved slot for a critical request, waiting up to
// CriticalWait (in line with at most MaxInflight others) while they are all
// taken; false if none came free in time or ctx ended.
func (s *Server) takeReserved(ctx context.Context) bool {
	if s.reserved.take() {
		return true
	}
	if s.cfg.CriticalWait <= 0 || !s.waiting.take() {
		return false
	}
	defer s.waiting.release()
	t := s.cfg.Clock.NewTimer(s.cfg.CriticalWait)
	defer t.Stop()
	return s.reserved.takeWithin(ctx, t.C())
}

// reasonTooManyRequests is Kubernetes' reason for a 429.
const reasonTooManyRequests api.StatusReason = "TooManyRequests"

// wrap applies the per-request limits and deadlines around h.
func (s *Server) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := s.cfg.ClientKey(r)
		long := s.cfg.LongRunning(r)
		critical := !long && s.cfg.Critical != nil && s.cfg.Critical(r)
		if s.rate != nil && !critical && (s.cfg.LimitLoopback || !isLoopback(RemoteIP(r))) {
			if ok, wait := s.rate.take(key, s.cfg.Clock.Now()); !ok {
				s.reject(w, retryAfter(wait), "rate", key,
					fmt.Sprintf("too many requests from %s (over %g per second); retry later", key, s.cfg.RatePerClient))
				return
			}
		}
		rc := http.NewResponseController(w)
		if long {
			if !s.watchesPer.take(key) {
				s.reject(w, 1, "watchesclient", key,
					fmt.Sprintf("too many long-running requests from %s (cap %d)", key, s.cfg.MaxWatchesPerClient))
				return
			}
			defer s.watchesPer.release(key)
			if !s.watches.take() {
				s.reject(w, 1, "watches", key, fmt.Sprintf("too many long-running requests (cap %d)", s.cfg.MaxWatches))
				return
			}
			defer s.watches.release()
			timeout := jittered(s.cfg.WatchTimeout, s.rand())
			// A watcher that stops reading cannot hold a write past its end.
			_ = rc.SetWriteDeadline(time.Now().Add(timeout + s.cfg.WriteTimeout))
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			defer context.AfterFunc(s.stopping, cancel)()
			timer := s.cfg.Clock.NewTimer(timeout)
			defer timer.Stop()
			go func() {
				select {
				case <-timer.C():
					cancel()
				case <-ctx.Done():
				}
			}()
			r = r.WithContext(ctx)
		} else {
			// The body arrives before the request counts as in flight: a
			// client that stalls its body holds a connection (capped) and
			// a goroutine, never one of the slots every client needs.
			if r.Body != nil && r.Body != http.NoBody {
				body, ok := s.preRead(w, r, rc, key)
				if !ok {
					return
				}
				r.Body = body
			}
			switch {
			case s.inflight.take():
				defer s.inflight.release()
			case !critical:
				s.reject(w, 1, "inflight", key, fmt.Sprintf("too many requests in flight (cap %d); retry later", s.cfg.MaxInflight))
				return
			case s.takeReserved(r.Context()):
				defer s.reserved.release()
			default:
				if s.cfg.CriticalRefused != nil {
					s.cfg.CriticalRefused(r)
				}
				s.reject(w, 1, "inflight-critical", key, fmt.Sprintf("too many critical requests in flight (%d slots of their own, none free within %s); retry later",
					s.cfg.ReservedInflight, max(s.cfg.CriticalWait, 0)))
				return
			}
		}
		if long && r.Body != nil && r.Body != http.NoBody { // (preRead set the others' deadline)
			if err := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)); err == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, timeout: s.cfg.BodyTimeout}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// preRead reads the first PreReadBytes of r's body under BodyTimeout. A
// body that fits is returned whole from memory, its deadline lifted; a
// longer one is the bytes read followed by the rest, still under the
// deadline (lifted at its end, see deadlineBody). A body that does not
// arrive in time is answered 408 and its connection closed; false means
// the request has been answered.
func (s *Server) preRead(w http.ResponseWriter, r *http.Request, rc *http.ResponseController, key string) (io.ReadCloser, bool) {
	if err := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)); err != nil {
		return r.Body, true // not a deadline-capable connection (tests): read as it comes
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		// One allocation for the announced body (and the byte past the
		// limit), instead of doubling from 512 bytes up.
		buf.Grow(int(min(r.ContentLength, s.cfg.PreReadBytes)) + bytes.MinRead)
	}
	n, err := io.CopyN(&buf, r.Body, s.cfg.PreReadBytes+1)
	switch {
	case err == io.EOF || (err == nil && n <= s.cfg.PreReadBytes):
		_ = rc.SetReadDeadline(time.Time{})
		return wholeBody{readCloser: readCloser{Reader: bytes.NewReader(buf.Bytes()), Closer: r.Body}, data: buf.Bytes()}, true
	case err == nil:
		rest := &deadlineBody{ReadCloser: r.Body, rc: rc, timeout: s.cfg.BodyTimeout}
		return readCloser{Reader: io.MultiReader(bytes.NewReader(buf.Bytes()), rest), Closer: r.Body}, true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.warn.log(s.cfg.Log, "bodytimeout", "request body not received in time; connection closed", logrus.Fields{"client": key, "timeout": s.cfg.BodyTimeout})
		w.Header().Set("Connection", "close")
		writeStatus(w, http.StatusRequestTimeout, api.ReasonTimeout,
			fmt.Sprintf("request body not received within %s", s.cfg.BodyTimeout))
		return nil, false
	}
	// The client went away, or sent a malformed chunked body: hand the
	// handler what arrived and the error, as net/http would.
	return readCloser{Reader: io.MultiReader(bytes.NewReader(buf.Bytes()), errReader{err}), Closer: r.Body}, true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// wholeBody is a body read whole before the handler ran: PreRead hands
// its bytes to a handler that wants them all (the API's decoders) without
// copying them into a buffer of its own.
type wholeBody struct {
	readCloser
	data []byte
}

// PreRead returns the whole body, read only; the handler reads it either
// this way or through Read, not both.
func (b wholeBody) PreRead() []byte { return b.data }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// writeStatus answers code with a Kubernetes Status body.
func writeStatus(w http.ResponseWriter, code int, reason api.StatusReason, msg string) {
	st := api.Status{
		TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: api.APIVersion},
		Status:   "Failure",
		Message:  msg,
		Reason:   reason,
		Code:     code,
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(st)
}

// reject answers 429 with Retry-After and a Kubernetes Status body.
func (s *Server) reject(w http.ResponseWriter, retry int, kind, client, msg string) {
	s.warn.log(s.cfg.Log, "reject-"+kind, "request refused: "+msg, logrus.Fields{"client": client})
	st := api.Status{
		TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: api.APIVersion},
		Status:   "Failure",
		Message:  msg,
		Reason:   reasonTooManyRequests,
		Code:     http.StatusTooManyRequests,
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", strconv.Itoa(retry))
	w.WriteHeader(http.StatusTooManyRequests)
	_ = json.NewEncoder(w).Encode(st)
}

// deadlineBody lifts the body's read deadline once the body has arrived,
// so that the connection's background read (which cancels the request's
// context on an error) does not trip on it while the handler works on.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	done    bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		return n, fmt.Errorf("request body not received within %s: %w", b.timeout, err)
	}
	return n, err
}

// debugWriter sends net/http's own log lines (TLS handshake errors and the
// like: client noise) to the component's logger at debug level.
type debugWriter struct{ e *logrus.Entry }

func (d debugWriter) Write(p []byte) (int, error) {
	d.e.Debug(strings.TrimSpace(string(p)))
	return len(p), nil
}
