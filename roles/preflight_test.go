package roles

import (
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
)

type fakeListener struct{ net.Listener }

func (fakeListener) Close() error { return nil }

func TestCheckPorts(t *testing.T) {
	taken := map[string]error{
		"127.0.0.1:8080": fmt.Errorf("listen tcp 127.0.0.1:8080: bind: %w", syscall.EADDRINUSE),
		"10.0.0.9:4001":  fmt.Errorf("listen tcp 10.0.0.9:4001: bind: %w", syscall.EADDRNOTAVAIL),
	}
	listen := func(_, addr string) (net.Listener, error) {
		if err := taken[addr]; err != nil {
			return nil, err
		}
		return fakeListener{}, nil
	}
	for _, tc := range []struct {
		uses []portUse
		want string
	}{
		{[]portUse{{"port", "127.0.0.1:9090"}, {"kubelet_port", "127.0.0.1:10250"}}, ""},
		{[]portUse{{"etcd-addr", "127.0.0.1:4001"}, {"port", "127.0.0.1:8080"}}, "port 8080 (--port) is already in use: stop what listens there (ss -ltnp 'sport = :8080') or pick another with --port"},
		{[]portUse{{"etcd-addr", "10.0.0.9:4001"}}, "cannot listen on 10.0.0.9:4001 (--etcd-addr)"},
	} {
		err := checkPorts(listen, tc.uses)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("checkPorts(%v) = %v, want %q", tc.uses, err, tc.want)
		}
	}
}
