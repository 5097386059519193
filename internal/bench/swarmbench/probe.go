package swarmbench

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// prober sends HTTP GETs from inside one network namespace: its workers are
// goroutines locked to OS threads that entered the namespace with setns(2).
// The threads are never unlocked, so they end with their goroutines and no
// other goroutine ever runs in the namespace.
type prober struct {
	reqs chan func()
}

// newProber starts workers goroutines in the namespace at nsPath.
func newProber(nsPath string, workers int) (*prober, error) {
	p := &prober{reqs: make(chan func())}
	ready := make(chan error, workers)
	for i := 0; i < workers; i++ {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
			if err := setns(nsPath); err != nil {
				ready <- err
				return
			}
			ready <- nil
			for f := range p.reqs {
				f()
			}
		}()
	}
	var first error
	for i := 0; i < workers; i++ {
		if err := <-ready; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		close(p.reqs)
		return nil, first
	}
	return p, nil
}

// do runs f on a worker, inside the namespace, and returns when f has.
func (p *prober) do(f func()) {
	done := make(chan struct{})
	p.reqs <- func() { f(); close(done) }
	<-done
}

// probe GETs http://addr/ and reports whether it answered 200.
func (p *prober) probe(addr string) error {
	var err error
	p.do(func() { err = httpGet(addr, time.Second) })
	return err
}

// dial connects from inside the namespace; the connection may then be used
// from any goroutine (a socket stays in the namespace it was made in).
func (p *prober) dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	var c net.Conn
	var err error
	p.do(func() { c, err = net.DialTimeout(network, addr, timeout) })
	return c, err
}

func (p *prober) close() { close(p.reqs) }

// setns moves the calling thread into the network namespace at path.
func setns(path string) error {
	if sysSetns == 0 {
		return fmt.Errorf("setns: not supported on %s", runtime.GOARCH)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("setns: %w", err)
	}
	defer f.Close()
	if _, _, e := syscall.RawSyscall(sysSetns, f.Fd(), syscall.CLONE_NEWNET, 0); e != 0 {
		return fmt.Errorf("setns %s: %w", path, e)
	}
	return nil
}

// httpGet is a minimal HTTP/1.0 GET of / on addr, all on the calling thread
// (the socket is made where the thread's namespace is).
func httpGet(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\nHost: bench\r\n\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("GET http://%s/: %w", addr, err)
	}
	if f := strings.Fields(line); len(f) < 2 || f[1] != "200" {
		return fmt.Errorf("GET http://%s/: %s", addr, strings.TrimSpace(line))
	}
	return nil
}
