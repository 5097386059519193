package etcdtest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/etcd"
)

// Cluster is an n-member etcd cluster in this process, grown one member at
// a time with etcd.AddMember as masters join.
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	members []*member
}

type member struct {
	cfg  etcd.Config
	e    *etcd.Embedded
	stop func()
}

// Raft timing of test clusters: half of etcd's 100ms and 1s, so that a
// member that comes back elects a leader sooner, and still ten heartbeats per
// election timeout (a loaded CI machine must not see spurious elections).
const (
	heartbeat       = 50 * time.Millisecond
	electionTimeout = 500 * time.Millisecond
)

// StartCluster starts a cluster of n members (fsync off, the shorter raft
// timing above, no 5 s wait of etcd's strict reconfiguration check between
// two members joining), stopped at cleanup.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	first := etcd.Config{Name: "m0", DataDir: t.TempDir(), ClientAddr: FreeAddr(t), PeerAddr: FreeAddr(t), UnsafeNoFsync: true,
		HeartbeatInterval: heartbeat, ElectionTimeout: electionTimeout, UnsafeNoReconfigHealthCheck: true}
	c.members = append(c.members, &member{cfg: first})
	c.Start(0)
	for i := 1; i < n; i++ {
		cfg := etcd.Config{Name: fmt.Sprintf("m%d", i), DataDir: t.TempDir(), ClientAddr: FreeAddr(t), PeerAddr: FreeAddr(t),
			UnsafeNoFsync: true, ClusterState: "existing",
			HeartbeatInterval: heartbeat, ElectionTimeout: electionTimeout, UnsafeNoReconfigHealthCheck: true}
		cli := c.Client(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		// The second member joins as a learner, promoted once it runs: added
		// as a voter, it would take the first member's quorum away until it
		// runs, and its first request (publishing its name) would wait out
		// etcd's 6 s request timeout. Later ones join as masters do.
		var (
			initial string
			learner uint64
			err     error
		)
		if i == 1 {
			initial, learner, err = addLearner(ctx, cli, cfg.Name, "http://"+cfg.PeerAddr)
		} else {
			initial, err = etcd.AddMember(ctx, cli, cfg.Name, "http://"+cfg.PeerAddr)
		}
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		// The new member asks a running one for the membership and refuses
		// to start if it lacks the new member ("member count is unequal"):
		// wait until every running member has applied the addition.
		if err := c.waitMembers(ctx, i+1); err != nil {
			cancel()
			t.Fatal(err)
		}
		cfg.InitialCluster = initial
		c.mu.Lock()
		c.members = append(c.members, &member{cfg: cfg})
		c.mu.Unlock()
		c.Start(i)
		if learner != 0 {
			err = promote(ctx, cli, learner)
		}
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// waitMembers waits until every member started so far lists n members in
// its own (serializable) view of the membership.
func (c *Cluster) waitMembers(ctx context.Context, n int) error {
	for _, ep := range c.Endpoints() {
		if err := waitMemberCount(ctx, ep, n); err != nil {
			return err
		}
	}
	return nil
}

// waitMemberCount waits until the member at ep lists n members.
func waitMemberCount(ctx context.Context, ep string, n int) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer cli.Close()
	for {
		resp, err := cli.MemberList(ctx, clientv3.WithSerializable())
		if err == nil && len(resp.Members) == n {
			return nil
		}
		last := fmt.Sprint(err)
		if err == nil {
			last = fmt.Sprintf("%d members", len(resp.Members))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcd member at %s never listed %d members (last: %s)", ep, n, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// addLearner adds a learner named name and returns the InitialCluster it
// starts with and its member ID.
func addLearner(ctx context.Context, cli *clientv3.Client, name, peerURL string) (string, uint64, error) {
	resp, err := cli.MemberAddAsLearner(ctx, []string{peerURL})
	if err != nil {
		return "", 0, fmt.Errorf("add etcd learner %s (%s): %w", name, peerURL, err)
	}
	return etcd.InitialCluster(resp, name), resp.Member.ID, nil
}

// promote makes learner a voting member once it has caught up with the
// leader (etcd refuses before).
func promote(ctx context.Context, cli *clientv3.Client, learner uint64) error {
	for {
		_, err := cli.MemberPromote(ctx, learner)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("promote etcd learner %x: %w", learner, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Start starts member i (again: on its data dir).
func (c *Cluster) Start(i int) {
	c.t.Helper()
	c.mu.Lock()
	m := c.members[i]
	c.mu.Unlock()
	m.e = etcd.NewEmbedded(m.cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- m.e.Run(ctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-done:
		cancel()
		c.t.Fatalf("start etcd member %s: %v", m.cfg.Name, err)
	}
	var once sync.Once
	m.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				c.t.Errorf("etcd member %s did not stop within 30s", m.cfg.Name)
			}
		})
	}
	c.t.Cleanup(m.stop)
}

// Stop stops member i; its data stays for Start.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	m := c.members[i]
	c.mu.Unlock()
	m.stop()
}

// Endpoints returns the client URL of every member.
func (c *Cluster) Endpoints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var eps []string
	for _, m := range c.members {
		eps = append(eps, "http://"+m.cfg.ClientAddr)
	}
	return eps
}

// Client returns a client of every member, closed at cleanup.
func (c *Cluster) Client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := etcd.NewClientWithLog(c.Endpoints(), nil, logrus.WithField("component", "etcd-client"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}
