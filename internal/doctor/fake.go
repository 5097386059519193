package doctor

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"
)

// FakeProbe answers from its fields; a missing URL or address fails like a
// refused connection.
type FakeProbe struct {
	Docker      map[string][2]string // endpoint -> {version, apiVersion}
	DockerErr   error                // when set, every engine fails with it
	IPTablesErr error
	Pages       map[string]FakePage // url -> answer
	Open        map[string]bool     // addr -> accepts TCP
	RouteTable  []Route
	Clock       time.Time
	Busy        map[string]bool   // addr -> something listens there
	Denied      map[string]bool   // addr -> this user may not bind it
	ReadOnly    map[string]bool   // dir -> not writable
	Files       map[string]string // path -> content (others: no such file)
	NAT         string            // iptables-save -t nat
}

// FakePage is one canned HTTP answer.
type FakePage struct {
	Status int
	Date   time.Time
	Body   string
}

var _ Probe = (*FakeProbe)(nil)

func (f *FakeProbe) DockerVersion(_ context.Context, ep string) (string, string, error) {
	if f.DockerErr != nil {
		return "", "", f.DockerErr
	}
	v, ok := f.Docker[ep]
	if !ok {
		return "", "", fmt.Errorf("socket %s: no such file or directory", strings.TrimPrefix(ep, "unix://"))
	}
	return v[0], v[1], nil
}

func (f *FakeProbe) IPTables(context.Context) error { return f.IPTablesErr }

func (f *FakeProbe) Get(_ context.Context, url string) (int, time.Time, []byte, error) {
	p, ok := f.Pages[url]
	if !ok {
		return 0, time.Time{}, nil, fmt.Errorf("dial tcp: connection refused")
	}
	return p.Status, p.Date, []byte(p.Body), nil
}

func (f *FakeProbe) Dial(_ context.Context, addr string) error {
	if !f.Open[addr] {
		return fmt.Errorf("dial tcp %s: connection refused", addr)
	}
	return nil
}

func (f *FakeProbe) Routes() ([]Route, error) { return f.RouteTable, nil }

func (f *FakeProbe) Now() time.Time { return f.Clock }

func (f *FakeProbe) Listen(addr string) error {
	if f.Busy[addr] {
		return fmt.Errorf("listen tcp %s: bind: %w", addr, syscall.EADDRINUSE)
	}
	if f.Denied[addr] {
		return fmt.Errorf("listen tcp %s: bind: %w", addr, syscall.EACCES)
	}
	return nil
}

func (f *FakeProbe) Writable(dir string) error {
	if f.ReadOnly[dir] {
		return fmt.Errorf("access %s: permission denied", dir)
	}
	return nil
}

func (f *FakeProbe) ReadFile(path string) ([]byte, error) {
	b, ok := f.Files[path]
	if !ok {
		return nil, fmt.Errorf("open %s: no such file or directory", path)
	}
	return []byte(b), nil
}

func (f *FakeProbe) NATRules(context.Context) (string, error) {
	if f.IPTablesErr != nil {
		return "", f.IPTablesErr
	}
	return f.NAT, nil
}
