package apiserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/httpserve"
	"kubelite/internal/logging"
	"kubelite/internal/store"
	"kubelite/internal/v1api"
)

// DefaultMaxBodyBytes bounds request bodies (413 above it).
const DefaultMaxBodyBytes = 3 << 20

// DefaultRatePerClient is the requests per second one remote address may
// start (bursts of twice that); beyond it 429 with Retry-After. This host's
// own clients (loopback) are not limited.
const DefaultRatePerClient = 100

// Versions are the API versions served, with the same shapes.
var Versions = []string{"v1beta1", "v1beta2"}

// HealthCheck reports a component's health for /validate: nil is healthy.
type HealthCheck func(ctx context.Context) error

// Config is what a Server needs.
type Config struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log *logrus.Entry
	// Address and Port to listen on (Run only; Handler ignores them).
	Address string
	Port    int
	// Store is served; required.
	Store store.Store
	// Version answers /version and /api/<v>/version.
	Version api.ServerVersion
	// HealthChecks maps component names (etcd-0, scheduler,
	// controller-manager...) to checks shown by /validate, besides minions.
	HealthChecks map[string]HealthCheck
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Transport reaches kubelets and service endpoints (proxy, redirect
	// and /validate); nil means a dedicated http.Transport with timeouts.
	Transport http.RoundTripper
	// CheckTimeout bounds each /validate check; 0 means 5s.
	CheckTimeout time.Duration
	// Security authenticates and authorizes requests; nil serves everyone
	// (the 2014 API: --insecure).
	Security *Security
	// TLS, when set, makes Run serve https on the port, with plain HTTP
	// beside it for this host's own reads (the tutorial's curls).
	TLS *tls.Config
	// KubeletPort is the port of this host's own kubelet (a standalone
	// node's): the only port on this host's addresses that proxy, redirect
	// and /validate may reach. 0 means api.DefaultKubeletPort.
	KubeletPort int
	// ProtectedPorts are never reached by proxy, redirect or /validate, on
	// any host, besides etcd's 2379, 2380, 4001 and 7001 (this host's own
	// addresses are refused on every port but KubeletPort).
	ProtectedPorts []int
	// HostNames are names the Host header may carry besides those of the
	// serving certificate in TLS, localhost and this host's name (any IP
	// address is accepted): a DNS-rebinding defence (see gate).
	HostNames []string
}

// Server is the API server; it is a component.Component.
type Server struct {
	cfg       Config
	log       *logrus.Entry
	transport http.RoundTripper
	handler   http.Handler
	enc       encCache       // JSON of shared watch objects
	v1        http.Handler   // /api, /api/v1, /apis, /openapi (internal/v1api)
	targets   *targetGuard   // what proxy, redirect and /validate may reach
	hosts     hostNames      // what the Host header may name
	mux       *http.ServeMux // the routes (router.go)

	mu   sync.Mutex
	addr string
}

// New checks cfg and returns a server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("apiserver: no store")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.CheckTimeout <= 0 {
		cfg.CheckTimeout = 5 * time.Second
	}
	if cfg.KubeletPort <= 0 {
		cfg.KubeletPort = api.DefaultKubeletPort
	}
	s := &Server{cfg: cfg, log: logging.OrDiscard(cfg.Log)}
	s.targets = newTargetGuard(cfg.KubeletPort, cfg.ProtectedPorts)
	s.hosts = newHostNames(cfg.TLS, cfg.HostNames)
	s.transport = cfg.Transport
	if s.transport == nil {
		s.transport = &http.Transport{
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost:   8,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
		}
	}
	s.transport = guardTransport(s.transport, s.targets)
	v1, err := v1api.New(v1api.Config{Log: s.log.WithField("api", "v1"), Store: cfg.Store, Version: cfg.Version, Legacy: http.HandlerFunc(s.route), Admit: s.admitUser, MaxBodyBytes: cfg.MaxBodyBytes})
	if err != nil {
		return nil, err
	}
	s.v1 = v1
	s.mux = s.newRouter()
	var h http.Handler = http.HandlerFunc(s.route)
	if cfg.Security != nil {
		if cfg.Security.Authn == nil {
			return nil, errors.New("apiserver: Security without an authenticator")
		}
		h = s.guard(h)
	}
	s.handler = instrument(s.recoverer(s.gate(h)))
	return s, nil
}

// Name implements component.Component.
func (s *Server) Name() string { return "apiserver" }

// Handler returns the API as an http.Handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Addr returns the address Run listens on ("" before it listens); useful
// with port 0.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run listens on Address:Port, calls started once listening, and serves
// until ctx ends; then open watches are ended and the server shut down.
// With TLS the port serves https, and plain HTTP beside it (what plain
// requests may do is Security's business).
func (s *Server) Run(ctx context.Context, started func()) error {
	addr := net.JoinHostPort(s.cfg.Address, strconv.Itoa(s.cfg.Port))
	srv, err := httpserve.Listen(s.serveConfig(addr))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("listen on %s: port %d is already in use (is another kubelite master running?)", addr, s.cfg.Port)
		}
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.mu.Lock()
	s.addr = srv.Addr()
	s.mu.Unlock()
	started()
	return srv.Serve(ctx)
}

// serveConfig is how Run listens on addr: the API's handler and limits
// (watches long-running, heartbeats critical, a rate per remote address).
func (s *Server) serveConfig(addr string) httpserve.Config {
	return httpserve.Config{
		Name: "apiserver", Addr: addr, Handler: s.handler,
		TLS: s.cfg.TLS, AllowPlain: s.cfg.TLS != nil,
		LongRunning:     isLongRunning,
		Critical:        isHeartbeat,
		CriticalRefused: s.heartbeatRefused,
		RatePerClient:   DefaultRatePerClient,
		Log:             s.log,
	}
}

// heartbeatRefused tells the store (the master's minion leases, through
// the registry) that the listener turned a heartbeat away unheard, so that
// the node controller does not take the silence for the minion's.
func (s *Server) heartbeatRefused(*http.Request) {
	if hr, ok := s.cfg.Store.(store.HeartbeatRefusals); ok {
		hr.HeartbeatRefused(time.Now())
	}
}

// isLongRunning tells watches, log follows and proxied streams apart from
// ordinary requests (they are limited and timed apart).
func isLongRunning(r *http.Request) bool {
	p := r.URL.Path
	return httpserve.DefaultLongRunning(r) || strings.Contains(p, "/proxy/") || strings.Contains(p, "/watch/")
}

// statusWriter records the code for logging and the recover middleware.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.WithFields(logrus.Fields{"method": r.Method, "path": r.URL.Path, "panic": p}).
					Errorf("handler panicked: %s", debug.Stack())
				if sw.code == 0 {
					writeStatus(sw, api.NewInternal(fmt.Errorf("handler panicked: %v", p)).Status)
				}
			}
			if s.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
				s.log.WithFields(logrus.Fields{
					"method": r.Method, "path": r.URL.RequestURI(), "code": sw.code,
					"took": time.Since(start).String(), "remote": r.RemoteAddr,
				}).Debug("request")
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

func knownVersion(v string) bool {
	for _, k := range Versions {
		if v == k {
			return true
		}
	}
	return false
}

// urlResources are the resource names accepted in URLs: api.Resources'
// names and URL aliases.
var urlResources = api.URLResources()

// splitPath splits "a/b" (one trailing slash allowed) into segments; nil if
// empty or any segment is empty.
func splitPath(p string) []string {
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return nil
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" {
			return nil
		}
	}
	return segs
}
