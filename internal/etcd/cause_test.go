package etcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestCauseOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "10.0.0.1:2379 accepts connections but does not answer as etcd: not etcd's client port"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "nothing listens on 10.0.0.1:2379: start etcd there, or fix --etcd_servers"},
		{&net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}, "10.0.0.1:2379 does not answer within 1s: a firewall drops the packets or the host is down"},
		{&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "etcd.example"}}, "does not resolve (lookup etcd.example: no such host): fix --etcd_servers"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}, "is unreachable from this host (no route)"},
		{errors.New("odd"), "10.0.0.1:2379: odd"},
	} {
		if got := causeOf("10.0.0.1:2379", tc.err); !strings.Contains(got, tc.want) {
			t.Errorf("causeOf(%v) = %q, want it to hold %q", tc.err, got, tc.want)
		}
	}
}

// Dialled for real: a closed port is "nothing listens", a port that
// accepts but is not etcd is said so.
func TestLikelyCause(t *testing.T) {
	c, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := c.Addr().String()
	c.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := LikelyCause(context.Background(), []string{"http://" + closed, "http://" + l.Addr().String()})
	want := fmt.Sprintf("nothing listens on %s: start etcd there, or fix --etcd_servers; %s accepts connections but does not answer as etcd", closed, l.Addr())
	if !strings.HasPrefix(got, want) {
		t.Errorf("LikelyCause:\n%s\nwant it to start with\n%s", got, want)
	}
}
