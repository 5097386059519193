package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/net/ipv4"
)

// udpIdleTimeout closes a UDP client's backend socket after this much silence.
const udpIdleTimeout = 60 * time.Second

// userspace owns one listener per service (TCP or UDP) and copies each
// connection to an endpoint chosen by the balancer.
type userspace struct {
	log      *logrus.Entry
	bal      *balancer
	bindIP   string
	mu       sync.Mutex
	sockets  map[string]*socket // by service name
	draining []*socket
}

type socket struct {
	name, proto string
	port        int
	ln          net.Listener
	pc          net.PacketConn
	wg          sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func newUserspace(log *logrus.Entry, bal *balancer, bindIP string) *userspace {
	return &userspace{log: log, bal: bal, bindIP: bindIP, sockets: map[string]*socket{}}
}

// ensure opens a listener for every service that has none (on the port in
// preferred if it is free) and returns the port of every service. Listeners
// of services no longer present are set aside; closeStale closes them once
// the rules no longer point at them.
func (u *userspace) ensure(svcs []service, preferred map[string]int) (map[string]int, []error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	var errs []error
	ports := map[string]int{}
	keep := map[string]bool{}
	for _, s := range svcs {
		keep[s.Name] = true
		if so, ok := u.sockets[s.Name]; ok && so.proto == s.Protocol {
			ports[s.Name] = so.port
			continue
		} else if ok {
			u.draining = append(u.draining, so)
			delete(u.sockets, s.Name)
		}
		so, err := u.open(s.Name, s.Protocol, preferred[s.Name])
		if err != nil {
			errs = append(errs, fmt.Errorf("listen for service %s: %w", s.Name, err))
			continue
		}
		u.sockets[s.Name] = so
		ports[s.Name] = so.port
		u.log.WithFields(logrus.Fields{"service": s.Name, "protocol": s.Protocol, "port": so.port}).Info("opened proxy port")
	}
	for name, so := range u.sockets {
		if !keep[name] {
			u.draining = append(u.draining, so)
			delete(u.sockets, name)
		}
	}
	return ports, errs
}

// closeStale closes the listeners set aside by ensure.
func (u *userspace) closeStale() {
	u.mu.Lock()
	stale := u.draining
	u.draining = nil
	u.mu.Unlock()
	for _, so := range stale {
		u.log.WithFields(logrus.Fields{"service": so.name, "port": so.port}).Info("closed proxy port")
		so.close()
	}
}

// closeAll closes every listener and connection and waits for their goroutines.
func (u *userspace) closeAll() {
	u.mu.Lock()
	all := u.draining
	for _, so := range u.sockets {
		all = append(all, so)
	}
	u.sockets, u.draining = map[string]*socket{}, nil
	u.mu.Unlock()
	for _, so := range all {
		so.close()
	}
}

func (u *userspace) open(name, proto string, preferred int) (*socket, error) {
	so := &socket{name: name, proto: proto, conns: map[net.Conn]struct{}{}}
	listen := func(port int) error {
		addr := net.JoinHostPort(u.bindIP, strconv.Itoa(port))
		var err error
		if proto == "udp" {
			so.pc, err = net.ListenPacket("udp4", addr)
			if err == nil {
				so.port = so.pc.LocalAddr().(*net.UDPAddr).Port
			}
			return err
		}
		so.ln, err = net.Listen("tcp4", addr)
		if err == nil {
			so.port = so.ln.Addr().(*net.TCPAddr).Port
		}
		return err
	}
	if preferred == 0 || listen(preferred) != nil {
		if err := listen(0); err != nil {
			return nil, err
		}
	}
	so.wg.Add(1)
	if proto == "udp" {
		go u.serveUDP(so)
	} else {
		go u.serveTCP(so)
	}
	return so, nil
}

func (so *socket) track(c net.Conn) bool {
	so.mu.Lock()
	defer so.mu.Unlock()
	if so.closed {
		return false
	}
	so.conns[c] = struct{}{}
	return true
}

func (so *socket) untrack(c net.Conn) {
	so.mu.Lock()
	delete(so.conns, c)
	so.mu.Unlock()
}

func (so *socket) close() {
	so.mu.Lock()
	so.closed = true
	for c := range so.conns {
		c.Close()
	}
	so.mu.Unlock()
	if so.ln != nil {
		so.ln.Close()
	}
	if so.pc != nil {
		so.pc.Close()
	}
	so.wg.Wait()
}

func clientIP(a net.Addr) string {
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return ""
}

func (u *userspace) serveTCP(so *socket) {
	defer so.wg.Done()
	for {
		in, err := so.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			u.log.WithError(err).WithField("service", so.name).Warn("accept failed")
			time.Sleep(10 * time.Millisecond) // e.g. out of file descriptors: do not spin
			continue
		}
		if !so.track(in) {
			in.Close()
			return
		}
		so.wg.Add(1)
		go func() {
			defer so.wg.Done()
			defer so.untrack(in)
			defer in.Close()
			out, err := u.dial(so, clientIP(in.RemoteAddr()))
			if err != nil {
				u.log.WithError(err).WithField("service", so.name).Debug("no endpoint answered")
				return
			}
			if !so.track(out) {
				out.Close()
				return
			}
			defer so.untrack(out)
			pipe(in, out)
		}()
	}
}

// dial connects to an endpoint of so's service, trying the next endpoint when
// one fails, with growing timeouts (1 s, 2 s, then 4 s each). v0.6 began at
// 0.25 s, which on a busy minion gave up on healthy endpoints (and so broke
// client affinity); a dead endpoint is refused at once anyway.
func (u *userspace) dial(so *socket, client string) (net.Conn, error) {
	tries := max(1, u.bal.count(so.name))
	timeout := time.Second
	var lastErr error
	for i := 0; i < tries; i++ {
		ep, err := u.bal.next(so.name, client)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", ep)
		cancel()
		if err == nil {
			return c, nil
		}
		lastErr = err
		u.log.WithError(err).WithFields(logrus.Fields{"service": so.name, "endpoint": ep}).Debug("dial failed; trying the next endpoint")
		u.bal.failed(so.name, client, ep)
		timeout = min(timeout*2, 4*time.Second)
	}
	return nil, fmt.Errorf("dial %d endpoints: %w", tries, lastErr)
}

// pipe copies both ways until both directions end, half-closing as each does.
func pipe(a, b net.Conn) {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(b, a)
		closeWrite(b)
		close(done)
	}()
	_, _ = io.Copy(a, b)
	closeWrite(a)
	<-done
	a.Close()
	b.Close()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	c.Close()
}

// serveUDP relays datagrams: one backend socket per client address, closed
// after udpIdleTimeout without traffic. Replies leave from the address the
// client's datagram arrived at (IP_PKTINFO): after a REDIRECT that is
// 127.0.0.1 or the interface address, and conntrack only turns it back into
// the portal IP when the reply comes from there.
func (u *userspace) serveUDP(so *socket) {
	defer so.wg.Done()
	p4 := ipv4.NewPacketConn(so.pc)
	if err := p4.SetControlMessage(ipv4.FlagDst, true); err != nil {
		u.log.WithError(err).WithField("service", so.name).Warn("no IP_PKTINFO: UDP replies may be dropped")
	}
	var mu sync.Mutex
	sessions := map[string]net.Conn{}
	buf := make([]byte, 64*1024)
	for {
		n, cm, addr, err := p4.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		var replyFrom *ipv4.ControlMessage
		if cm != nil && cm.Dst != nil {
			replyFrom = &ipv4.ControlMessage{Src: cm.Dst}
		}
		key := addr.String()
		mu.Lock()
		out, ok := sessions[key]
		mu.Unlock()
		if !ok {
			ep, err := u.bal.next(so.name, clientIP(addr))
			if err != nil {
				continue
			}
			out, err = net.Dial("udp", ep)
			if err != nil {
				u.bal.failed(so.name, clientIP(addr), ep)
				continue
			}
			if !so.track(out) {
				out.Close()
				return
			}
			mu.Lock()
			sessions[key] = out
			mu.Unlock()
			so.wg.Add(1)
			go func() {
				defer so.wg.Done()
				defer so.untrack(out)
				defer func() {
					mu.Lock()
					delete(sessions, key)
					mu.Unlock()
					out.Close()
				}()
				rbuf := make([]byte, 64*1024)
				for {
					_ = out.SetReadDeadline(time.Now().Add(udpIdleTimeout))
					n, err := out.Read(rbuf)
					if err != nil {
						return
					}
					if _, err := p4.WriteTo(rbuf[:n], replyFrom, addr); err != nil {
						return
					}
				}
			}()
		}
		_ = out.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = out.Write(buf[:n])
	}
}
