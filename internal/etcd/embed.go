package etcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"

	"kubelite/internal/api"
	"kubelite/internal/component"
	"kubelite/internal/logging"
)

// Defaults of the embedded server, as the tutorial's etcd used them.
const (
	DefaultClientAddr = api.DefaultEtcdClientAddr
	DefaultPeerAddr   = api.DefaultEtcdPeerAddr
	DefaultDataDir    = api.DefaultDataDir
	// DefaultStartTimeout bounds how long Run waits for etcd to be ready.
	DefaultStartTimeout = 60 * time.Second
)

// Config says how to run the embedded etcd.
type Config struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log *logrus.Entry
	// Name of the member (default "kubelite").
	Name string
	// DataDir is kubelite's data directory; etcd keeps its data in DataDir/etcd.
	DataDir string
	// ClientAddr is host:port of the client URL (default 127.0.0.1:4001).
	ClientAddr string
	// PeerAddr is host:port of the peer URL (default 127.0.0.1:7001).
	PeerAddr string
	// StartTimeout bounds the wait for readiness (default DefaultStartTimeout).
	StartTimeout time.Duration
	// CompactionRetention is how many revisions of history etcd keeps for
	// watches (default 100000), compacted to every SpaceCheckInterval once
	// a tenth of it more has been written (compact.go). A watch from an
	// older revision gets Gone and re-lists.
	CompactionRetention int
	// UnsafeNoFsync disables fsync (tests only: losing power loses data).
	UnsafeNoFsync bool
	// HeartbeatInterval and ElectionTimeout are raft's timing (default
	// etcd's 100ms and 1s). Test clusters shorten them to elect faster.
	HeartbeatInterval, ElectionTimeout time.Duration
	// UnsafeNoReconfigHealthCheck lets AddMember through without etcd's
	// strict reconfiguration check (every member connected for the last
	// 5 s): tests only, a member added to an unhealthy cluster can lose quorum.
	UnsafeNoReconfigHealthCheck bool
	// ClientTLS, when set, serves clients over TLS and accepts only client
	// certificates signed by its CAFile (a ClientAddr off loopback needs it).
	ClientTLS *TLSFiles
	// PlainOffLoopback lets a ClientAddr off loopback serve plain HTTP
	// without client certificates (the master's --insecure).
	PlainOffLoopback bool
	// QuotaBackendBytes is etcd's space quota: at this database size etcd
	// refuses writes (NOSPACE) until space is recovered (see space.go);
	// default DefaultQuotaBackendBytes (2 GiB).
	QuotaBackendBytes int64
	// SpaceCheckInterval is how often a NOSPACE alarm is looked for and
	// recovered from, and the history compacted to CompactionRetention
	// (default DefaultSpaceCheckInterval).
	SpaceCheckInterval time.Duration
	// PeerTLS, when set, serves peers over TLS and takes only peers with a
	// certificate signed by its CAFile (masters on several hosts).
	PeerTLS *TLSFiles
	// InitialCluster ("name=http://host:port,...") and ClusterState
	// ("existing") make this member join a cluster that AddMember grew
	// (cluster.go); empty: a one-member cluster of its own.
	InitialCluster, ClusterState string
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "kubelite"
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.ClientAddr == "" {
		c.ClientAddr = DefaultClientAddr
	}
	if c.PeerAddr == "" {
		c.PeerAddr = DefaultPeerAddr
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.CompactionRetention == 0 {
		c.CompactionRetention = 100000
	}
	if c.QuotaBackendBytes <= 0 {
		c.QuotaBackendBytes = DefaultQuotaBackendBytes
	}
	if c.SpaceCheckInterval <= 0 {
		c.SpaceCheckInterval = DefaultSpaceCheckInterval
	}
	return c
}

var (
	_ component.Component = (*Embedded)(nil)
	_ component.Component = (*External)(nil)
)

// Embedded is the embedded etcd server as a component.Component.
type Embedded struct {
	cfg Config
	log *logrus.Entry

	ready     chan struct{}
	readyOnce sync.Once
	mu        sync.Mutex
	endpoints []string
	// local is the running server's in-process services (LocalClient),
	// set before ready is closed.
	local atomic.Pointer[localConns]
}

// NewEmbedded returns the embedded etcd component; nothing starts until Run.
func NewEmbedded(cfg Config) *Embedded {
	return &Embedded{
		cfg:   cfg.withDefaults(),
		log:   logging.OrDiscard(cfg.Log),
		ready: make(chan struct{}),
	}
}

// Name implements component.Component.
func (e *Embedded) Name() string { return "etcd" }

// Ready is closed once the server serves clients.
func (e *Embedded) Ready() <-chan struct{} { return e.ready }

// Endpoints returns the client URLs ("http://127.0.0.1:4001"); known from
// the config before Run, and the bound addresses once Ready.
func (e *Embedded) Endpoints() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.endpoints != nil {
		return append([]string(nil), e.endpoints...)
	}
	if u, err := hostURL(e.cfg.ClientAddr); err == nil {
		if e.cfg.ClientTLS != nil {
			u.Scheme = "https"
		}
		return []string{advertise(u).String()}
	}
	return []string{"http://" + e.cfg.ClientAddr}
}

// EtcdDir returns the directory etcd keeps its data in.
func (e *Embedded) EtcdDir() string { return filepath.Join(e.cfg.DataDir, "etcd") }

func hostURL(addr string) (*url.URL, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}, nil
}

// advertise turns a listen URL into one others can reach: 0.0.0.0 becomes 127.0.0.1.
func advertise(u *url.URL) *url.URL {
	host, port, _ := net.SplitHostPort(u.Host)
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return &url.URL{Scheme: u.Scheme, Host: net.JoinHostPort(host, port)}
}

func (e *Embedded) embedConfig(closing *atomic.Bool) (*embed.Config, error) {
	c := e.cfg
	curl, err := hostURL(c.ClientAddr)
	if err != nil {
		return nil, fmt.Errorf("etcd client %w", err)
	}
	purl, err := hostURL(c.PeerAddr)
	if err != nil {
		return nil, fmt.Errorf("etcd peer %w", err)
	}
	if c.ClientTLS != nil {
		curl.Scheme = "https"
	} else if !IsLoopback(c.ClientAddr) && !c.PlainOffLoopback {
		return nil, fmt.Errorf("etcd client address %s is off loopback: it needs TLS with client certificates", c.ClientAddr)
	}
	ec := embed.NewConfig()
	ec.Name = c.Name
	if c.ClientTLS != nil {
		ec.ClientTLSInfo = transport.TLSInfo{CertFile: c.ClientTLS.CertFile, KeyFile: c.ClientTLS.KeyFile,
			TrustedCAFile: c.ClientTLS.CAFile, ClientCertAuth: true}
	}
	// No HTTP/JSON gateway and no CORS: browsers and the API's proxy must
	// never reach etcd's keys over HTTP.
	ec.EnableGRPCGateway = false
	ec.CORS = map[string]struct{}{}
	ec.Dir = e.EtcdDir()
	ec.ListenClientUrls = []url.URL{*curl}
	ec.AdvertiseClientUrls = []url.URL{*advertise(curl)}
	if c.PeerTLS != nil {
		purl.Scheme = "https"
		ec.PeerTLSInfo = transport.TLSInfo{CertFile: c.PeerTLS.CertFile, KeyFile: c.PeerTLS.KeyFile,
			TrustedCAFile: c.PeerTLS.CAFile, ClientCertAuth: true}
	}
	ec.ListenPeerUrls = []url.URL{*purl}
	ec.AdvertisePeerUrls = []url.URL{*advertise(purl)}
	ec.InitialCluster = ec.InitialClusterFromName(ec.Name)
	if c.InitialCluster != "" {
		ec.InitialCluster = c.InitialCluster
	}
	if c.ClusterState == embed.ClusterStateFlagExisting {
		ec.ClusterState = embed.ClusterStateFlagExisting
	}
	// etcd's own compactor looks every 5 minutes; KeepHistory (compact.go)
	// keeps the retention every SpaceCheckInterval instead.
	ec.AutoCompactionRetention = "0"
	ec.UnsafeNoFsync = c.UnsafeNoFsync
	if c.HeartbeatInterval > 0 {
		ec.TickMs = uint(c.HeartbeatInterval.Milliseconds())
	}
	if c.ElectionTimeout > 0 {
		ec.ElectionMs = uint(c.ElectionTimeout.Milliseconds())
	}
	ec.StrictReconfigCheck = !c.UnsafeNoReconfigHealthCheck
	ec.QuotaBackendBytes = c.QuotaBackendBytes
	ec.Logger = "zap"
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(newZapLogger(e.log, closing))
	return ec, nil
}

// Run implements component.Component: start etcd, wait until it serves,
// call started, and close etcd when ctx ends.
func (e *Embedded) Run(ctx context.Context, started func()) error {
	var closing atomic.Bool
	ec, err := e.embedConfig(&closing)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(e.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("etcd data dir: %w", err)
	}
	// Damaged files stop the start at once, with the file and the way out
	// (preflight.go), rather than a hang or a panic inside etcd.
	if err := CheckDataDir(ec.Dir); err != nil {
		return err
	}
	e.log.WithFields(logrus.Fields{"client": e.cfg.ClientAddr, "peer": e.cfg.PeerAddr, "dir": ec.Dir}).Info("starting embedded etcd")
	srv, err := startEtcd(ec)
	if err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	stop := func() {
		closing.Store(true)
		srv.Close()
	}
	timer := time.NewTimer(e.cfg.StartTimeout)
	defer timer.Stop()
	select {
	case <-srv.Server.ReadyNotify():
	case err := <-srv.Err():
		stop()
		return fmt.Errorf("start etcd: %w", err)
	case <-timer.C:
		stop()
		return fmt.Errorf("start etcd: not ready after %s", e.cfg.StartTimeout)
	case <-ctx.Done():
		stop()
		return nil
	}
	var eps []string
	for _, l := range srv.Clients {
		scheme := "http://"
		if e.cfg.ClientTLS != nil {
			scheme = "https://"
		}
		eps = append(eps, scheme+advertiseAddr(l.Addr()))
	}
	e.mu.Lock()
	e.endpoints = eps
	e.mu.Unlock()
	e.local.Store(newLocalConns(srv.Server))
	e.readyOnce.Do(func() { close(e.ready) })
	e.log.WithField("endpoints", eps).Info("embedded etcd ready")
	// Recover from NOSPACE with an in-process client (no socket, no TLS).
	spaceCtx, stopSpace := context.WithCancel(ctx)
	spaceDone := make(chan struct{})
	spaceCli := v3client.New(srv.Server)
	historyDone := make(chan struct{})
	go func() {
		defer close(spaceDone)
		defrag := func(context.Context) error { return srv.Server.Defragment() }
		WatchSpace(spaceCtx, spaceCli, defrag, e.cfg.SpaceCheckInterval, e.log)
	}()
	go func() {
		defer close(historyDone)
		leads := func() bool { return srv.Server.Leader() == srv.Server.MemberID() }
		KeepHistory(spaceCtx, spaceCli, leads, int64(e.cfg.CompactionRetention), e.cfg.SpaceCheckInterval, e.log)
	}()
	stopEtcd := stop
	stop = func() {
		stopSpace()
		<-spaceDone
		<-historyDone
		spaceCli.Close()
		stopEtcd()
	}
	started()

	select {
	case <-ctx.Done():
		e.log.Info("stopping embedded etcd")
		stop()
		e.log.Info("embedded etcd stopped")
		return nil
	case err := <-srv.Err():
		stop()
		if err == nil {
			err = errors.New("stopped")
		}
		return fmt.Errorf("etcd: %w", err)
	case <-srv.Server.StopNotify():
		stop()
		return errors.New("etcd: server stopped")
	}
}

func advertiseAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// startEtcd is embed.StartEtcd with a panic of etcd's start in this
// goroutine (zap's Panic level: "failed to recover v3 backend" and such)
// turned into an error.
func startEtcd(ec *embed.Config) (srv *embed.Etcd, err error) {
	defer func() {
		if p := recover(); p != nil {
			srv, err = nil, fmt.Errorf("etcd panicked while starting on %s: %v", ec.Dir, p)
		}
	}()
	return embed.StartEtcd(ec)
}
