package httpserve

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/logging"
)

// listener is what http.Server accepts from. One goroutine accepts from the
// socket and applies the connection caps (cheap, no I/O on the connection);
// with TLS, each admitted connection then gets its own goroutine that reads
// its first byte under a deadline, so a silent client never holds up the
// accept loop. Every admitted connection is tracked until it is closed, so
// that the caps count it and shutdown can close it (hijacked ones too).
type listener struct {
	inner         net.Listener
	tls           *tls.Config
	allowPlain    bool
	sniffTimeout  time.Duration
	conns         *slots
	perIP         *keyedSlots
	limitLoopback bool
	log           *logrus.Entry
	warn          *throttle

	out       chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	failed    chan struct{}
	failErr   error
	wg        sync.WaitGroup

	mu   sync.Mutex
	open map[*conn]struct{}

	onClosed func() // test hook: called after a connection is untracked
}

func (l *listener) start() {
	l.wg.Add(1)
	go l.acceptLoop()
}

func (l *listener) acceptLoop() {
	defer l.wg.Done()
	var backoff time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if !temporary(err) {
				l.failErr = err
				close(l.failed)
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.warn.log(l.log, "accept", "accept failed; retrying", logrus.Fields{"error": err, "retry": backoff})
			select {
			case <-time.After(backoff):
			case <-l.done:
				return
			}
			continue
		}
		backoff = 0
		tc, ok := l.admit(c)
		if !ok {
			_ = c.Close()
			continue
		}
		if l.tls == nil {
			l.deliver(tc)
			continue
		}
		l.wg.Add(1)
		go l.sniff(tc)
	}
}

// temporary reports accept errors worth retrying: out of descriptors or
// memory, or a connection reset before it was accepted.
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// admit applies the caps and tracks c, or reports false.
func (l *listener) admit(c net.Conn) (*conn, bool) {
	ip := addrIP(c.RemoteAddr())
	if !l.conns.take() {
		l.warn.log(l.log, "maxconns", "connection refused: open connection cap reached", logrus.Fields{"cap": l.conns.max, "remote": ip})
		return nil, false
	}
	perIP := l.limitLoopback || !isLoopback(ip)
	if perIP && !l.perIP.take(ip) {
		l.conns.release()
		l.warn.log(l.log, "maxconnsclient", "connection refused: per-client connection cap reached", logrus.Fields{"cap": l.perIP.max, "remote": ip})
		return nil, false
	}
	tc := &conn{Conn: c, l: l, ip: ip, perIP: perIP}
	l.mu.Lock()
	l.open[tc] = struct{}{}
	l.mu.Unlock()
	return tc, true
}

func (l *listener) untrack(c *conn) {
	l.mu.Lock()
	delete(l.open, c)
	l.mu.Unlock()
	if c.perIP {
		l.perIP.release(c.ip)
	}
	l.conns.release()
	if l.onClosed != nil {
		l.onClosed()
	}
}

// tlsRecordHandshake is the first byte of every TLS connection.
const tlsRecordHandshake = 0x16

func (l *listener) sniff(c *conn) {
	defer l.wg.Done()
	var b [1]byte
	_ = c.SetReadDeadline(time.Now().Add(l.sniffTimeout))
	if _, err := io.ReadFull(c, b[:]); err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	pc := &peekConn{conn: c, first: b[:]}
	if b[0] == tlsRecordHandshake {
		l.deliver(tls.Server(pc, l.tls))
		return
	}
	if !l.allowPlain {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = io.WriteString(c, "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
		// Half-close and drain what the client sent (bounded in time and
		// size), so that closing does not reset the answer away.
		_ = c.CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
		_ = c.Close()
		return
	}
	l.deliver(pc)
}

func (l *listener) deliver(c net.Conn) {
	select {
	case l.out <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// Accept implements net.Listener.
func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.out:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.failed:
		return nil, l.failErr
	}
}

// Close implements net.Listener: it stops accepting (idempotent). Admitted
// connections stay open; closeAll closes them.
func (l *listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr implements net.Listener.
func (l *listener) Addr() net.Addr { return l.inner.Addr() }

// closeAll closes every admitted connection still open.
func (l *listener) closeAll() {
	l.mu.Lock()
	cs := make([]*conn, 0, len(l.open))
	for c := range l.open {
		cs = append(cs, c)
	}
	l.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
	}
}

// wait waits for the accept loop and the sniffers to end (after Close).
func (l *listener) wait() { l.wg.Wait() }

// conn is an admitted connection: closing it frees its place under the caps.
type conn struct {
	net.Conn
	l     *listener
	ip    string
	perIP bool
	once  sync.Once
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.untrack(c) })
	return err
}

// CloseWrite lets http.Server half-close before closing, as it does with a
// bare *net.TCPConn.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// peekConn gives back the sniffed byte before reading on.
type peekConn struct {
	*conn
	first []byte
}

func (p *peekConn) Read(b []byte) (int, error) {
	if len(p.first) > 0 && len(b) > 0 {
		n := copy(b, p.first)
		p.first = p.first[n:]
		return n, nil
	}
	return p.conn.Read(b)
}

func addrIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func isLoopback(ip string) bool {
	p := net.ParseIP(ip)
	return p != nil && p.IsLoopback()
}

// throttle is a logging.Throttle of warning lines, the count of those held
// back in a "suppressed" field of the next one.
type throttle struct{ t *logging.Throttle }

func newThrottle(every time.Duration) *throttle { return &throttle{logging.NewThrottle(every)} }

func (t *throttle) log(e *logrus.Entry, key, msg string, f logrus.Fields) {
	ok, held, _ := t.t.Admit(key, time.Now())
	if !ok {
		return
	}
	if held > 0 {
		f["suppressed"] = held
	}
	e.WithFields(f).Warn(msg)
}
