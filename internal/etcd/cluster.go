package etcd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
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
// them: this works without quorum too), each asked for its status on its
// own client URL (within ctx), sorted by name.
func Members(ctx context.Context, cli *clientv3.Client) ([]Member, error) {
	resp, err := cli.MemberList(ctx, clientv3.WithSerializable())
	if err != nil {
		return nil, fmt.Errorf("list etcd members: %w", err)
	}
	out := make([]Member, len(resp.Members))
	var wg sync.WaitGroup
	for i, m := range resp.Members {
		out[i] = Member{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs}
		if len(m.ClientURLs) == 0 {
			out[i].Err = "not started"
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := cli.Status(ctx, m.ClientURLs[0])
			if err != nil {
				out[i].Err = err.Error()
				return
			}
			out[i].Healthy = true
			out[i].Leader = st.Leader == m.ID
		}()
	}
	wg.Wait()
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
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
	return strings.Join(parts, ","), nil
}

// RemoveMember removes the member named name from the cluster.
func RemoveMember(ctx context.Context, cli *clientv3.Client, name string) error {
	resp, err := cli.MemberList(ctx)
	if err != nil {
		return fmt.Errorf("list etcd members: %w", err)
	}
	for _, m := range resp.Members {
		if m.Name == name {
			if _, err := cli.MemberRemove(ctx, m.ID); err != nil {
				return fmt.Errorf("remove etcd member %s: %w", name, err)
			}
			return nil
		}
	}
	return fmt.Errorf("remove etcd member %s: no such member", name)
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
