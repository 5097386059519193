package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"time"

	"kubelite/internal/api"
)

// The API opens connections for its clients in three places: proxy,
// redirect (a 307 the client follows) and /validate. Each target is checked
// twice: when it is resolved (every address a name resolves to), and again
// by the transport's dialer on the address actually connected to, so a name
// that resolves differently a moment later (DNS rebinding) gains nothing.

// targetKind says what a proxy target is: a minion's kubelet or a pod
// behind a service. Only a kubelet may be on this host (a standalone's own).
type targetKind int

const (
	targetPod     targetKind = iota // the strictest: never on this host
	targetKubelet                   // may be this host's own kubelet port
)

// etcdPorts are etcd's well-known client and peer ports (and v0.6's):
// never a proxy target on any host.
var etcdPorts = []int{2379, 2380, 4001, 7001}

// targetPolicy is what checkTarget compares an address with.
type targetPolicy struct {
	self        []netip.Addr // this host's addresses
	kubeletPort int          // the one port this host's own addresses may be reached on, by a kubelet target
	denied      map[int]bool // ports refused on every host: etcd's (the API's own is on this host's addresses)
}

// checkTarget reports why the API must not connect to ip:port for a client,
// nil if it may. It is pure: the caller supplies this host's addresses.
//
// Never: unspecified, link-local (169.254/16, fe80::/10: cloud metadata),
// multicast or broadcast addresses; etcd's ports (and p.denied) anywhere.
// Loopback and this host's own addresses only for a kubelet target on
// p.kubeletPort: a standalone node registers its kubelet there (as
// 127.0.0.1 when its API is on loopback), and kubectl log must reach it;
// the API's port, etcd's and every other service of the master host stay
// out of reach.
func checkTarget(kind targetKind, ip netip.Addr, port int, p targetPolicy) error {
	if !ip.IsValid() {
		return errors.New("not an IP address")
	}
	ip = ip.Unmap()
	ownKubelet := kind == targetKubelet && port == p.kubeletPort
	switch {
	case ip.IsLoopback() && ownKubelet:
		return nil // a standalone node's own kubelet, registered as 127.0.0.1
	case ip.IsLoopback():
		return fmt.Errorf("%s is a loopback address (only this host's kubelet port %d may be reached there)", ip, p.kubeletPort)
	case ip.IsUnspecified() || (ip.Is4() && ip.As4()[0] == 0):
		return fmt.Errorf("%s is an unspecified address (this host)", ip)
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return fmt.Errorf("%s is a link-local address", ip)
	case ip.IsMulticast() || ip.IsInterfaceLocalMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%s is a multicast or broadcast address", ip)
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d is not a TCP port", port)
	}
	if p.denied[port] {
		return fmt.Errorf("port %d is etcd's (or another protected port)", port)
	}
	for _, a := range p.self {
		if a.Unmap() != ip {
			continue
		}
		if ownKubelet {
			return nil // a standalone node's own kubelet
		}
		return fmt.Errorf("%s is this master's own address (only its kubelet port %d may be reached there)", ip, p.kubeletPort)
	}
	return nil
}

// targetGuard holds what checkTarget needs at run time: this host's
// addresses (re-read at most every selfTTL) and the refused ports.
type targetGuard struct {
	kubeletPort int
	denied      map[int]bool
	resolver    func(ctx context.Context, host string) ([]netip.Addr, error)
	addrs       func() ([]netip.Addr, error)

	mu     sync.Mutex
	self   []netip.Addr
	readAt time.Time
}

const selfTTL = 10 * time.Second

func newTargetGuard(kubeletPort int, extra []int) *targetGuard {
	g := &targetGuard{kubeletPort: kubeletPort, denied: map[int]bool{}, addrs: interfaceAddrs,
		resolver: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}}
	for _, p := range append(append([]int(nil), etcdPorts...), extra...) {
		if p > 0 {
			g.denied[p] = true
		}
	}
	return g
}

func interfaceAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("list this host's addresses: %w", err)
	}
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		if pfx, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, pfx.Addr())
		}
	}
	return out, nil
}

func (g *targetGuard) policy() (targetPolicy, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.self == nil || time.Since(g.readAt) > selfTTL {
		self, err := g.addrs()
		if err != nil {
			return targetPolicy{}, err
		}
		g.self, g.readAt = self, time.Now()
	}
	denied := make(map[int]bool, len(g.denied))
	for p := range g.denied {
		denied[p] = true
	}
	return targetPolicy{self: g.self, kubeletPort: g.kubeletPort, denied: denied}, nil
}

// check resolves hostport and checks every address it names; the error is
// a 403 Status naming what was refused.
func (g *targetGuard) check(ctx context.Context, kind targetKind, what, hostport string) error {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return forbidden(fmt.Sprintf("%s: target %q has no port", what, hostport))
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return forbidden(fmt.Sprintf("%s: target %q has a bad port", what, hostport))
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = g.resolver(ctx, host); err != nil || len(ips) == 0 {
		return api.NewUnavailable(fmt.Sprintf("%s: cannot resolve %q: %v", what, host, err))
	}
	p, err := g.policy()
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if err := checkTarget(kind, ip, port, p); err != nil {
			return forbidden(fmt.Sprintf("%s: refused to reach %s: %v; the API reaches only minions' kubelets and running pods", what, hostport, err))
		}
	}
	return nil
}

type targetKindKey struct{}

func withTargetKind(ctx context.Context, k targetKind) context.Context {
	return context.WithValue(ctx, targetKindKey{}, k)
}

// guardTransport makes rt's connections pass checkTarget on the address
// actually connected to (after DNS), before a byte is sent; the kind comes
// from the request's context (withTargetKind; the strictest without). Only
// an *http.Transport can be guarded so; any other RoundTripper (a test's
// fake) is returned as it is and relies on the check at resolution.
func guardTransport(rt http.RoundTripper, g *targetGuard) http.RoundTripper {
	t, ok := rt.(*http.Transport)
	if !ok {
		return rt
	}
	t = t.Clone()
	dial := t.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	verify := func(ctx context.Context, c net.Conn) (net.Conn, error) {
		kind, _ := ctx.Value(targetKindKey{}).(targetKind)
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err == nil {
			var p targetPolicy
			if p, err = g.policy(); err == nil {
				err = checkTarget(kind, ap.Addr(), int(ap.Port()), p)
			}
		}
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("refused to reach %s: %w", c.RemoteAddr(), err)
		}
		return c, nil
	}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return verify(ctx, c)
	}
	if dt := t.DialTLSContext; dt != nil {
		t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dt(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return verify(ctx, c)
		}
	}
	t.Proxy = nil // never through an environment's HTTP proxy: the check is on the real peer
	return t
}

// checkedTarget is a target that passed the guard.
func (s *Server) checkedTarget(ctx context.Context, r *http.Request, kind, id string) (*url.URL, targetKind, error) {
	base, tk, err := s.target(ctx, r, kind, id)
	if err != nil || base == nil {
		return nil, tk, err
	}
	what := fmt.Sprintf("%s %q", kind, id)
	if err := s.targets.check(ctx, tk, what, base.Host); err != nil {
		s.log.WithField("target", base.Host).WithField("object", what).Warn("proxy target refused")
		return nil, tk, err
	}
	return base, tk, nil
}
