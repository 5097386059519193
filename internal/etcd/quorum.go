package etcd

import (
	"context"
	"fmt"
	"strings"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// DiagnoseQuorum says in one line why the cluster of cli cannot commit,
// for the API's 503s: it asks every endpoint for its status (each member
// answers that alone, with or without a leader) within ctx.
//   - no endpoint answers: quorum lost, naming the endpoints;
//   - the members that answer have no leader: quorum lost, how many answer;
//   - a leader exists: the cluster is slow (overloaded, a slow disk) or a
//     leader election is under way.
func DiagnoseQuorum(ctx context.Context, cli *clientv3.Client) string {
	eps := cli.Endpoints()
	var (
		mu       sync.Mutex
		answered []string
		leaders  int
		wg       sync.WaitGroup
	)
	for _, ep := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := cli.Status(ctx, ep)
			if err != nil {
				return
			}
			mu.Lock()
			answered = append(answered, ep)
			if st.Leader != 0 {
				leaders++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	switch {
	case len(answered) == 0:
		return fmt.Sprintf("etcd quorum lost: no etcd member answers (%s); writes resume when a majority of the masters' etcd members is back",
			strings.Join(eps, ", "))
	case leaders == 0:
		msg := fmt.Sprintf("etcd quorum lost: the etcd members that answer (%d of %d endpoints) have no leader", len(answered), len(eps))
		// The member list is served by any member, leader or not.
		if ml, err := cli.MemberList(ctx, clientv3.WithSerializable()); err == nil && len(ml.Members) > 0 {
			n := len(ml.Members)
			msg += fmt.Sprintf("; the cluster has %d members and commits with %d up", n, n/2+1)
		}
		return msg + "; writes resume when a majority of the masters' etcd members is back"
	default:
		return "etcd has a leader but did not commit in time (overloaded, a slow disk, or a leader election under way)"
	}
}
