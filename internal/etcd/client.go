package etcd

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/logging"
)

// ParseServers splits a --etcd_servers value ("http://a:4001,http://b:4001";
// a bare host:port gets http://) into endpoints.
func ParseServers(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "://") {
			p = "http://" + p
		}
		if !strings.HasPrefix(p, "http://") && !strings.HasPrefix(p, "https://") {
			return nil, fmt.Errorf("etcd server %q: want http:// or https://", p)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("etcd servers %q: none given", s)
	}
	return out, nil
}

// NewClient returns an etcd v3 client of endpoints, over TLS when tc is
// set, that logs nothing. It does not block: use WaitReady to wait for the
// cluster. The caller closes it.
func NewClient(endpoints []string, tc *tls.Config) (*clientv3.Client, error) {
	return NewClientWithLog(endpoints, tc, nil)
}

// NewClientWithLog is NewClient logging the client's warnings and errors to
// log (nil: nowhere).
func NewClientWithLog(endpoints []string, tc *tls.Config, log *logrus.Entry) (*clientv3.Client, error) {
	core := &logrusCore{log: logging.OrDiscard(log), infoLevel: logrus.TraceLevel, repeats: logging.NewThrottle(RepeatWindow)}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            endpoints,
		DialTimeout:          5 * time.Second,
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
		Logger:               zapNew(core),
		MaxCallRecvMsgSize:   256 << 20,
		TLS:                  tc,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client %v: %w", endpoints, err)
	}
	return cli, nil
}

// WaitReady blocks until the cluster answers a linearizable read, or ctx ends.
func WaitReady(ctx context.Context, cli *clientv3.Client) error {
	return waitReady(ctx, cli, nil)
}

// waitReady is WaitReady reporting each failed try to rep (nil: none).
func waitReady(ctx context.Context, cli *clientv3.Client, rep *logging.Repeater) error {
	backoff := 50 * time.Millisecond
	for {
		err := Health(ctx, cli)
		if err == nil {
			if rep != nil {
				rep.OK()
			}
			return nil
		}
		if rep != nil && ctx.Err() == nil {
			rep.Fail(err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcd %v not ready: %w", cli.Endpoints(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// Health checks that the cluster answers a linearizable read within 2 s.
func Health(ctx context.Context, cli *clientv3.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := cli.Get(ctx, "/registry/health", clientv3.WithCountOnly()); err != nil {
		return fmt.Errorf("etcd health: %w", err)
	}
	return nil
}

// External is an external etcd cluster (--etcd_servers) as a
// component.Component: Run waits until the cluster answers, calls started,
// and waits for ctx. It does not own the client's lifetime.
type External struct {
	Client  *clientv3.Client
	Timeout time.Duration // how long to wait for the cluster (default 60 s)
	// Log gets the wait's progress: a warning naming the endpoints when
	// the first try fails, then every few seconds (at most every 5 s) until
	// etcd answers; nil logs nothing.
	Log *logrus.Entry
}

// Name implements component.Component.
func (x *External) Name() string { return "etcd-external" }

// Run implements component.Component.
func (x *External) Run(ctx context.Context, started func()) error {
	timeout := x.Timeout
	if timeout == 0 {
		timeout = DefaultStartTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	rep := logging.NewRepeater(logging.RepeaterConfig{Log: x.Log, Max: 5 * time.Second,
		What: "reach etcd at " + strings.Join(x.Client.Endpoints(), ", "),
		Hint: fmt.Sprintf("does etcd run there, and is its client port open to this host (TLS: --etcd-cafile, --etcd-certfile, --etcd-keyfile)? The master gives up after %s", timeout)})
	err := waitReady(wctx, x.Client, rep)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%w after %s; likely cause: %s", err, timeout, LikelyCause(ctx, x.Client.Endpoints()))
	}
	started()
	<-ctx.Done()
	return nil
}
