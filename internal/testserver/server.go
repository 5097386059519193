package testserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures the web server.
type Config struct {
	// Addr is the listen address, e.g. ":80".
	Addr string
	// Version is reported by every answer (for rolling-update tests).
	Version string
	// Hostname is reported as the pod name; empty means os.Hostname().
	Hostname string
	// Listener, when set, is used instead of listening on Addr.
	Listener net.Listener
	// Started, when set, is called once the server accepts connections.
	Started func(addr net.Addr)
	// AccessLog, when set, gets one line per request.
	AccessLog io.Writer
}

// ExitError asks the process to exit with Code (from /exit?code=N).
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit requested with code %d", e.Code) }

// ExitCode maps an error from Run, Pause or DispatchArgv0 to a process exit code:
// 0 for nil, the requested code for an *ExitError, 1 otherwise.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

// Report writes err to w as "NAME: ERROR" unless it is an *ExitError (an
// exit a client asked for) and returns the process's exit code: a
// personality that fails says why before it exits (a taken port, say).
func Report(w io.Writer, argv0 string, err error) int {
	var ee *ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintf(w, "%s: %v\n", filepath.Base(argv0), err)
	}
	return ExitCode(err)
}

// server holds the handler state.
type server struct {
	cfg       Config
	unhealthy atomic.Bool
	exit      chan int
	requests  atomic.Int64
}

// Handler returns the web server's HTTP handler and a channel that receives
// the code of an /exit request.
func Handler(cfg Config) (http.Handler, <-chan int) {
	s := &server{cfg: cfg, exit: make(chan int, 1)}
	if s.cfg.Hostname == "" {
		s.cfg.Hostname, _ = os.Hostname()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", s.healthz)
	mux.HandleFunc("/fail-health", s.failHealth)
	mux.HandleFunc("/heal", s.heal)
	mux.HandleFunc("/exit", s.exitHandler)
	mux.HandleFunc("/file", s.file)
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, s.cfg.Version)
	})
	mux.HandleFunc("/", s.info)
	if cfg.AccessLog == nil {
		return mux, s.exit
	}
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fmt.Fprintf(cfg.AccessLog, "%s %s %s from %s\n", time.Now().UTC().Format(time.RFC3339), r.Method, r.URL.RequestURI(), r.RemoteAddr)
		mu.Unlock()
		mux.ServeHTTP(w, r)
	}), s.exit
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.unhealthy.Load() {
		http.Error(w, "unhealthy (asked by /fail-health)", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *server) failHealth(w http.ResponseWriter, r *http.Request) {
	s.unhealthy.Store(true)
	fmt.Fprintln(w, "healthz will fail from now on")
}

func (s *server) heal(w http.ResponseWriter, r *http.Request) {
	s.unhealthy.Store(false)
	fmt.Fprintln(w, "healthz will succeed from now on")
}

func (s *server) exitHandler(w http.ResponseWriter, r *http.Request) {
	code := 0
	if c := r.URL.Query().Get("code"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > 255 {
			http.Error(w, fmt.Sprintf("bad code %q: want 0-255", c), http.StatusBadRequest)
			return
		}
		code = n
	}
	fmt.Fprintf(w, "exiting with code %d\n", code)
	select {
	case s.exit <- code:
	default:
	}
}

// file reads (GET) or writes (POST, the body) the file at ?path=, so tests
// can check volumes from inside a container that has no shell.
func (s *server) file(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Query().Get("path")
	if path == "" {
		http.Error(w, "path is required", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		b, err := os.ReadFile(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	case http.MethodPost, http.MethodPut:
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "wrote %d bytes to %s\n", len(b), path)
	default:
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
	}
}

// info answers with the pod name and the request's details.
func (s *server) info(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var b strings.Builder
	fmt.Fprintf(&b, "pod: %s\n", s.cfg.Hostname)
	fmt.Fprintf(&b, "version: %s\n", s.cfg.Version)
	fmt.Fprintf(&b, "request: %s %s %s\n", r.Method, r.URL.RequestURI(), r.Proto)
	fmt.Fprintf(&b, "host: %s\n", r.Host)
	fmt.Fprintf(&b, "remote: %s\n", r.RemoteAddr)
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		fmt.Fprintf(&b, "local: %s\n", la)
	}
	fmt.Fprintf(&b, "served: %d\n", n)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "header %s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
	io.WriteString(w, b.String())
}

// Run serves until ctx ends (returns nil) or an /exit request arrives
// (returns an *ExitError carrying the requested code).
func Run(ctx context.Context, cfg Config) error {
	h, exit := Handler(cfg)
	l := cfg.Listener
	if l == nil {
		addr := cfg.Addr
		if addr == "" {
			addr = ":80"
		}
		var err error
		l, err = net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("webserver listen %s: %w", addr, err)
		}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	if cfg.Started != nil {
		cfg.Started(l.Addr())
	}
	var result error
	select {
	case <-ctx.Done():
	case code := <-exit:
		result = &ExitError{Code: code}
	case err := <-errc:
		return fmt.Errorf("webserver serve: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return result
}

// Pause blocks until ctx ends; it is the infra container's whole job.
func Pause(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// HealthCheck GETs url and returns nil when it answers 200.
func HealthCheck(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck %s: status %s", url, resp.Status)
	}
	return nil
}
