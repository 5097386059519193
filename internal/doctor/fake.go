package doctor

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// FakeProbe answers from its fields; a missing URL or address fails like a
// refused connection.
type FakeProbe struct {
	Docker      map[string][2]string // endpoint -> {version, apiVersion}
	IPTablesErr error
	Pages       map[string]FakePage // url -> answer
	Open        map[string]bool     // addr -> accepts TCP
	RouteTable  []Route
	Clock       time.Time
}

// FakePage is one canned HTTP answer.
type FakePage struct {
	Status int
	Date   time.Time
	Body   string
}

var _ Probe = (*FakeProbe)(nil)

func (f *FakeProbe) DockerVersion(_ context.Context, ep string) (string, string, error) {
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
