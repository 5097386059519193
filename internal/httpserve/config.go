package httpserve

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/clock"
	"kubelite/internal/logging"
)

// Config says where and how a Server listens. Zero values take the defaults
// documented on each field (see the package doc for the reasoning).
type Config struct {
	Name    string // for logs ("apiserver", "kubelet")
	Addr    string // host:port to listen on (port 0 ok)
	Handler http.Handler
	// TLS, when set, makes the port speak TLS (1.2 or later whatever the
	// config says; HTTP/1.1 only). nil: plain HTTP only.
	TLS *tls.Config
	// AllowPlain, with TLS set: the same port also accepts plain HTTP. The
	// first byte of each connection is sniffed (0x16 = TLS handshake) in a
	// per-connection goroutine with a deadline, never in the accept loop.
	// Plain requests reach Handler with r.TLS == nil (see IsPlain).
	AllowPlain bool

	// MaxConns caps open connections; beyond it a new connection is closed
	// at once. Default: 20,000 or two fifths of the file limit, the smaller.
	MaxConns int
	// MaxConnsPerClient caps open connections per remote IP (default 2,000).
	// Loopback addresses are exempt unless LimitLoopback is set.
	MaxConnsPerClient int
	// LimitLoopback counts loopback peers under MaxConnsPerClient too.
	LimitLoopback bool
	// MaxInflight caps concurrent requests that are not long-running
	// (default 400): beyond it 429 with Retry-After: 1.
	MaxInflight int
	// MaxWatches caps concurrent long-running requests, counted apart from
	// MaxInflight (default 2,000).
	MaxWatches int
	// MaxWatchesPerClient caps long-running requests per ClientKey
	// (default 500, a quarter of the default MaxWatches).
	MaxWatchesPerClient int
	// RatePerClient is the requests per second each ClientKey may start
	// (loopback peers are exempt unless LimitLoopback is set)
	// (token bucket, burst = 2x, at least 1); beyond it 429 with a
	// Retry-After of the seconds until the next token. 0 = off.
	RatePerClient float64
	// ClientKey says what "client" means for the per-client request limits
	// (default: the remote IP). Connection caps always use the remote IP.
	ClientKey func(*http.Request) string
	// LongRunning tells watches, log follows and proxy streams apart
	// (default: DefaultLongRunning).
	LongRunning func(*http.Request) bool
	// Critical picks the small requests that keep a cluster's view of
	// itself alive (the API passes a minion's heartbeat): they are not
	// counted against RatePerClient, and when MaxInflight is full they
	// take one of ReservedInflight slots kept for them, so a master
	// flooded with writes still hears its minions. nil: none.
	Critical func(*http.Request) bool
	// ReservedInflight is how many critical requests may be in flight
	// beyond MaxInflight (default a tenth of MaxInflight, at least 1).
	ReservedInflight int
	// CriticalWait is how long a critical request waits for a reserved
	// slot when they are all taken (as many wait at most as MaxInflight),
	// before it is refused too (default 5s; negative: no wait). Waiting
	// in line, the minions of a master whose store stalls for seconds get
	// their heartbeats in as slots free, first come first served, instead
	// of retrying at random and some missing the grace period.
	CriticalWait time.Duration
	// CriticalRefused, if set, is called (in the request's goroutine) for
	// every critical request refused all the same: the API tells its node
	// controller that a heartbeat went unheard on the master's side.
	CriticalRefused func(*http.Request)

	ReadHeaderTimeout time.Duration // default 10s; also bounds the sniff and the TLS handshake
	IdleTimeout       time.Duration // default 120s between requests on a kept-alive connection
	// BodyTimeout: a request body must arrive whole within this after the
	// header (default 30s); a stalled body is cut (the handler's read fails
	// and the connection is closed).
	BodyTimeout time.Duration
	// PreReadBytes of a request body that is not long-running are read
	// before the request takes an in-flight slot (default 16 KiB): a
	// stalled body never holds a slot. Longer bodies stream the rest while
	// holding one.
	PreReadBytes int64
	// WriteTimeout bounds a response that is not long-running (default 60s).
	WriteTimeout time.Duration
	// WatchTimeout ends a long-running request (its context is cancelled)
	// after WatchTimeout ±10% (default 30m, like Kubernetes'
	// min-request-timeout), so that clients re-watch and spread out.
	WatchTimeout time.Duration

	Log   *logrus.Entry // its user's logger; nil logs nothing
	Clock clock.Clock   // default clock.Real; drives the rate buckets and WatchTimeout
}

// Defaults, exported so that callers and docs quote one value.
const (
	DefaultMaxConns            = 20000
	DefaultMaxConnsPerClient   = 2000
	DefaultMaxInflight         = 400
	DefaultCriticalWait        = 5 * time.Second
	DefaultMaxWatches          = 2000
	DefaultMaxWatchesPerClient = 500
	DefaultReadHeaderTimeout   = 10 * time.Second
	DefaultIdleTimeout         = 120 * time.Second
	DefaultBodyTimeout         = 30 * time.Second
	DefaultPreReadBytes        = 16 << 10
	DefaultWriteTimeout        = 60 * time.Second
	DefaultWatchTimeout        = 30 * time.Minute
	// ShutdownGrace is how long Serve waits for requests in flight to end
	// after its context ends, before it closes every connection.
	ShutdownGrace = 5 * time.Second
)

// withDefaults fills the zero fields of c. fileLimit is the current soft
// RLIMIT_NOFILE (0 if unknown).
func (c Config) withDefaults(fileLimit uint64) Config {
	if c.Name == "" {
		c.Name = "http"
	}
	if c.MaxConns <= 0 {
		c.MaxConns = defaultMaxConns(fileLimit)
	}
	if c.MaxConnsPerClient <= 0 {
		c.MaxConnsPerClient = DefaultMaxConnsPerClient
	}
	if c.MaxInflight <= 0 {
		c.MaxInflight = DefaultMaxInflight
	}
	if c.ReservedInflight <= 0 {
		c.ReservedInflight = max(1, c.MaxInflight/10)
	}
	if c.CriticalWait == 0 {
		c.CriticalWait = DefaultCriticalWait
	}
	if c.MaxWatches <= 0 {
		c.MaxWatches = DefaultMaxWatches
	}
	if c.MaxWatchesPerClient <= 0 {
		c.MaxWatchesPerClient = DefaultMaxWatchesPerClient
	}
	if c.ClientKey == nil {
		c.ClientKey = RemoteIP
	}
	if c.LongRunning == nil {
		c.LongRunning = DefaultLongRunning
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = DefaultBodyTimeout
	}
	if c.PreReadBytes <= 0 {
		c.PreReadBytes = DefaultPreReadBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.WatchTimeout <= 0 {
		c.WatchTimeout = DefaultWatchTimeout
	}
	c.Log = logging.OrDiscard(c.Log)
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	return c
}

// defaultMaxConns is 20,000 or two fifths of the file limit, the smaller:
// the API and the kubelet of a standalone node then hold at most four
// fifths of the descriptors together, and etcd, Docker and log files keep
// the rest (etcd exits on "too many open files").
func defaultMaxConns(fileLimit uint64) int {
	if fileLimit == 0 {
		return DefaultMaxConns
	}
	share := fileLimit * 2 / 5
	if share < 64 {
		share = 64
	}
	if share > DefaultMaxConns {
		return DefaultMaxConns
	}
	return int(share)
}

// RemoteIP is the default ClientKey: the request's remote IP, without port.
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// DefaultLongRunning reports watches (?watch=true, a /watch/ path segment)
// and followed logs (?follow=true).
func DefaultLongRunning(r *http.Request) bool {
	if raw := r.URL.RawQuery; !strings.ContainsAny(raw, "%+") && !strings.Contains(raw, "watch") && !strings.Contains(raw, "follow") {
		// Neither parameter, even escaped: no need to parse the query.
		return strings.Contains(r.URL.Path+"/", "/watch/")
	}
	q := r.URL.Query()
	if b, _ := strconv.ParseBool(q.Get("watch")); b {
		return true
	}
	if b, _ := strconv.ParseBool(q.Get("follow")); b {
		return true
	}
	return strings.Contains(r.URL.Path+"/", "/watch/")
}

// IsPlain reports whether r came over plain HTTP (r.TLS == nil).
func IsPlain(r *http.Request) bool { return r.TLS == nil }

// ServerTLS returns a serving config: TLS 1.2 or later, AEAD suites with
// forward secrecy only (TLS 1.3 suites are not configurable and all
// modern), HTTP/1.1, and, when clientCAs is not nil, client certificates
// verified against it if the client offers one (tls.VerifyClientCertIfGiven:
// bearer tokens stay possible).
func ServerTLS(cert tls.Certificate, clientCAs *x509.CertPool) *tls.Config {
	c := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		NextProtos: []string{"http/1.1"},
	}
	if clientCAs != nil {
		c.ClientCAs = clientCAs
		c.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return c
}

// serverTLS hardens a caller's config: never below TLS 1.2, and HTTP/1.1
// only (the server does not speak HTTP/2, whose streams the per-connection
// timeouts would not cover).
func serverTLS(in *tls.Config) *tls.Config {
	if in == nil {
		return nil
	}
	c := in.Clone()
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	c.NextProtos = []string{"http/1.1"}
	return c
}

// RaiseFileLimit raises the soft RLIMIT_NOFILE to the hard one and returns
// the soft limit now in force. Call it once at process start. (Go's os
// package already does this on Linux at start-up; calling it makes the
// limit explicit, repairs a lowered one and gives the figure to log.)
func RaiseFileLimit() (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, fmt.Errorf("get file limit: %w", err)
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
			return 0, fmt.Errorf("raise file limit to %d: %w", l.Max, err)
		}
	}
	return l.Cur, nil
}

// fileLimit is the current soft RLIMIT_NOFILE, 0 if unknown.
func fileLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return l.Cur
}
