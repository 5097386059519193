package etcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Member is one member of the etcd cluster, as `kubelite etcd members`
// shows it.
type Member struct {
	ID         uint64
	Name       string // "" for a member added but not started yet
	PeerURLs   []string
	ClientURLs []string
	// Healthy: the member answered a status request.
	Healthy bool
	// Leader: the member is the raft leader.
	Leader bool
	// Err is why it is not healthy.
	Err string
}

// Members lists the cluster's members (as the member cli reaches knows
// them: this works without quorum too), sorted by name. Each is asked for
// its status on its own client URL (within ctx). A member whose client URL
// leads to another member from here (every master's etcd listens on its own
// 127.0.0.1:4001, so from one master every such URL is this master's own
// etcd) is healthy when its peer port accepts a connection, and the leader
// is marked as the members that answered see it. A member gets 3 s to answer.
func Members(ctx context.Context, cli *clientv3.Client) ([]Member, error) {
	return members(ctx, cli, dialPeer)
}

// statusLister is what Members needs of a client (*clientv3.Client has it).
type statusLister interface {
	MemberList(ctx context.Context, opts ...clientv3.OpOption) (*clientv3.MemberListResponse, error)
	Status(ctx context.Context, endpoint string) (*clientv3.StatusResponse, error)
}

func members(ctx context.Context, cli statusLister, dial func(ctx context.Context, peerURL string) error) ([]Member, error) {
	resp, err := cli.MemberList(ctx, clientv3.WithSerializable())
	if err != nil {
		return nil, fmt.Errorf("list etcd members: %w", err)
	}
	out := make([]Member, len(resp.Members))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		leaderID uint64 // the raft leader, as the members that answered see it
		byPeer   []int  // members known only by their peer port
	)
	for i, m := range resp.Members {
		out[i] = Member{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs}
		if len(m.ClientURLs) == 0 {
			out[i].Err = "not started"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A member that is down must not hold up the others' answer.
			sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			st, err := cli.Status(sctx, m.ClientURLs[0])
			cancel()
			if err == nil && st.Header != nil {
				mu.Lock()
				if st.Leader != 0 {
					leaderID = st.Leader
				}
				mu.Unlock()
			}
			if err == nil && st.Header != nil && st.Header.MemberId == m.ID {
				out[i].Healthy = true
				return
			}
			if err == nil {
				// Its client URL reaches another member from here.
				mu.Lock()
				byPeer = append(byPeer, i)
				mu.Unlock()
				return
			}
			out[i].Err = err.Error()
		}()
	}
	wg.Wait()
	for _, i := range byPeer {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var errs []error
			for _, u := range out[i].PeerURLs {
				err := dial(ctx, u)
				if err == nil {
					out[i].Healthy = true
					return
				}
				errs = append(errs, err)
			}
			out[i].Err = fmt.Sprintf("its client URL is not reachable from here, and its peer port does not answer: %v", errors.Join(errs...))
			if len(errs) == 0 {
				out[i].Err = "its client URL is not reachable from here, and it has no peer URL"
			}
		}()
	}
	wg.Wait()
	for i := range out {
		out[i].Leader = leaderID != 0 && out[i].ID == leaderID && out[i].Healthy
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}

// dialPeer checks that a member's peer URL accepts a TCP connection (within
// 2 s and ctx): its etcd runs there.
func dialPeer(ctx context.Context, peerURL string) error {
	u, err := url.Parse(peerURL)
	if err != nil {
		return fmt.Errorf("peer URL %q: %w", peerURL, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return fmt.Errorf("peer %s: %w", peerURL, err)
	}
	return c.Close()
}

// AddMember adds a member named name with peerURL to the cluster and
// returns the InitialCluster value it must start with (ClusterState
// "existing"). The cluster needs the new member running to keep its quorum
// (two of two members, three of four...), so start it at once. etcd
// refuses a member add until its leader has been connected to a majority
// for 5 s (a member added just before): AddMember retries that until ctx
// ends.
func AddMember(ctx context.Context, cli *clientv3.Client, name, peerURL string) (string, error) {
	var resp *clientv3.MemberAddResponse
	for {
		var err error
		resp, err = cli.MemberAdd(ctx, []string{peerURL})
		if err == nil {
			break
		}
		if !errors.Is(err, rpctypes.ErrUnhealthy) && !strings.Contains(err.Error(), rpctypes.ErrUnhealthy.Error()) {
			return "", fmt.Errorf("add etcd member %s (%s): %w", name, peerURL, err)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("add etcd member %s (%s): %w", name, peerURL, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
	return InitialCluster(resp, name), nil
}

// InitialCluster is the InitialCluster value ("name=peerURL,...") a member
// just added (resp) starts with, under the name it is given: etcd lists the
// new member without a name until it has started.
func InitialCluster(resp *clientv3.MemberAddResponse, name string) string {
	var parts []string
	for _, m := range resp.Members {
		n := m.Name
		if m.ID == resp.Member.ID {
			n = name
		}
		for _, u := range m.PeerURLs {
			parts = append(parts, n+"="+u)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// memberAPI is the part of etcd's cluster API a removal uses
// (*clientv3.Client has it).
type memberAPI interface {
	MemberList(ctx context.Context, opts ...clientv3.OpOption) (*clientv3.MemberListResponse, error)
	MemberRemove(ctx context.Context, id uint64) (*clientv3.MemberRemoveResponse, error)
}

// removeTry bounds one try of a removal: a configuration change waits for a
// leader and for its apply, which an election (the removed member was often
// the leader) or a loaded machine delays; the next try may find it done.
const removeTry = 5 * time.Second

// RemoveMember removes the member named name from the cluster. A try that
// times out or meets an election is made again until ctx ends; a member
// gone after a failed try was removed by it.
func RemoveMember(ctx context.Context, cli memberAPI, name string) error {
	var last error
	backoff := 200 * time.Millisecond
	for tried := false; ; tried = true {
		gone, err := removeOnce(ctx, cli, name)
		switch {
		case gone && tried:
			return nil // an earlier try landed after all
		case gone:
			return fmt.Errorf("remove etcd member %s: no such member", name)
		case err == nil:
			return nil
		case !retriableRemove(err) || ctx.Err() != nil:
			if last != nil && ctx.Err() != nil {
				err = fmt.Errorf("%w (last error: %v)", err, last)
			}
			return fmt.Errorf("remove etcd member %s: %w", name, err)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("remove etcd member %s: %w (last error: %v)", name, ctx.Err(), last)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// removeOnce lists the members and removes the one named name, in one try
// bounded by removeTry. gone: no member has that name.
func removeOnce(ctx context.Context, cli memberAPI, name string) (gone bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, removeTry)
	defer cancel()
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return false, fmt.Errorf("list members: %w", err)
	}
	for _, m := range resp.Members {
		if m.Name == name {
			_, err := cli.MemberRemove(ctx, m.ID)
			if errors.Is(err, rpctypes.ErrMemberNotFound) {
				return true, err
			}
			return false, err
		}
	}
	return true, nil
}

// retriableRemove: errors after which another try of a removal may succeed.
func retriableRemove(err error) bool {
	for _, e := range []error{
		context.DeadlineExceeded, rpctypes.ErrNoLeader, rpctypes.ErrLeaderChanged, rpctypes.ErrTimeout,
		rpctypes.ErrTimeoutDueToLeaderFail, rpctypes.ErrTimeoutDueToConnectionLost, rpctypes.ErrUnhealthy,
		rpctypes.ErrGRPCNoLeader, rpctypes.ErrGRPCLeaderChanged, rpctypes.ErrGRPCTimeout, rpctypes.ErrGRPCUnhealthy,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return status.Code(err) == codes.Unavailable || status.Code(err) == codes.DeadlineExceeded
}

// SaveSnapshot writes a snapshot of the database of the member cli talks
// to (its first endpoint) to w and returns its size.
func SaveSnapshot(ctx context.Context, cli *clientv3.Client, w io.Writer) (int64, error) {
	rc, err := cli.Snapshot(ctx)
	if err != nil {
		return 0, fmt.Errorf("etcd snapshot: %w", err)
	}
	defer rc.Close()
	n, err := io.Copy(w, rc)
	if err != nil {
		return n, fmt.Errorf("etcd snapshot: %w", err)
	}
	return n, nil
}
