package etcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// causeDialTimeout bounds the dial LikelyCause makes to each endpoint.
const causeDialTimeout = time.Second

// LikelyCause says why the etcd at endpoints did not answer, from a TCP dial
// to each: what a master prints when it gives up waiting for its external
// etcd (the client's own error is only "context deadline exceeded").
func LikelyCause(ctx context.Context, endpoints []string) string {
	var causes []string
	for _, ep := range endpoints {
		addr := ep
		if u, err := url.Parse(ep); err == nil && u.Host != "" {
			addr = u.Host
		}
		d := net.Dialer{Timeout: causeDialTimeout}
		c, err := d.DialContext(ctx, "tcp", addr)
		if c != nil {
			c.Close()
		}
		causes = append(causes, causeOf(addr, err))
	}
	return strings.Join(causes, "; ")
}

// causeOf turns the result of dialing addr into the likely cause.
func causeOf(addr string, dialErr error) string {
	var dnsErr *net.DNSError
	switch {
	case dialErr == nil:
		return addr + " accepts connections but does not answer as etcd: not etcd's client port (2379, or 4001 in the tutorial), " +
			"https against http (TLS: --etcd-cafile, --etcd-certfile, --etcd-keyfile), or an etcd cluster without quorum"
	case errors.Is(dialErr, syscall.ECONNREFUSED):
		return "nothing listens on " + addr + ": start etcd there, or fix --etcd_servers"
	case errors.As(dialErr, &dnsErr):
		return fmt.Sprintf("%s does not resolve (%v): fix --etcd_servers", addr, dnsErr)
	case errors.Is(dialErr, os.ErrDeadlineExceeded) || errors.Is(dialErr, context.DeadlineExceeded):
		return addr + " does not answer within " + causeDialTimeout.String() + ": a firewall drops the packets or the host is down; " +
			"open etcd's client port to this host"
	case errors.Is(dialErr, syscall.EHOSTUNREACH) || errors.Is(dialErr, syscall.ENETUNREACH):
		return addr + " is unreachable from this host (no route): check the address and the network"
	}
	return fmt.Sprintf("%s: %v", addr, dialErr)
}
