// Package etcdtest starts a real embedded etcd for tests: free loopback
// ports, a temporary data directory, stopped and removed by t.Cleanup.
package etcdtest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/etcd"
)

// FreeAddr returns a loopback host:port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Server is a running embedded etcd.
type Server struct {
	*etcd.Embedded
	Dir  string
	stop func()
}

// Stop stops the server now (it is stopped at cleanup anyway); the data
// stays in Dir, so Start(t, s.Dir) restarts it.
func (s *Server) Stop() { s.stop() }

// Start starts an embedded etcd in dir (a new temp dir when ""), waits until
// it is ready and stops it at cleanup. It does not fsync (fast tests).
func Start(t testing.TB, dir string) *Server {
	t.Helper()
	return start(t, dir, true)
}

// StartDurable is Start with fsync on, as a real master runs: for benchmarks.
func StartDurable(t testing.TB, dir string) *Server {
	t.Helper()
	return start(t, dir, false)
}

func start(t testing.TB, dir string, noFsync bool) *Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		e := etcd.NewEmbedded(etcd.Config{
			DataDir: dir, ClientAddr: FreeAddr(t), PeerAddr: FreeAddr(t), UnsafeNoFsync: noFsync,
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		started := make(chan struct{})
		go func() { done <- e.Run(ctx, func() { close(started) }) }()
		select {
		case <-started:
			var once sync.Once
			stop := func() {
				once.Do(func() {
					cancel()
					select {
					case <-done:
					case <-time.After(30 * time.Second):
						t.Errorf("embedded etcd did not stop within 30s")
					}
				})
			}
			t.Cleanup(stop)
			return &Server{Embedded: e, Dir: dir, stop: stop}
		case lastErr = <-done:
			cancel() // a port was taken between FreeAddr and Listen: retry
		}
	}
	t.Fatalf("start embedded etcd: %v", lastErr)
	return nil
}

// Client returns a client of s, closed at cleanup.
func (s *Server) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := etcd.NewClientWithLog(s.Endpoints(), nil, logrus.WithField("component", "etcd-client"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// LocalClient returns an in-process client of s (etcd.Embedded.LocalClient,
// as the master's store uses it), closed at cleanup.
func (s *Server) LocalClient(t testing.TB) *clientv3.Client {
	t.Helper()
	cli := s.Embedded.LocalClient(s.Client(t))
	t.Cleanup(func() { cli.Close() })
	return cli
}
