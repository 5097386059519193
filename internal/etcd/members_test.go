package etcd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fakeLister is a hand-written statusLister: Status answers as the member
// behind each URL (by URL), or fails.
type fakeLister struct {
	members []*etcdserverpb.Member
	behind  map[string]uint64 // client URL -> the member answering there
	leader  uint64
}

func (f *fakeLister) MemberList(context.Context, ...clientv3.OpOption) (*clientv3.MemberListResponse, error) {
	return &clientv3.MemberListResponse{Members: f.members}, nil
}

func (f *fakeLister) Status(_ context.Context, ep string) (*clientv3.StatusResponse, error) {
	id, ok := f.behind[ep]
	if !ok {
		return nil, errors.New("connection refused")
	}
	return &clientv3.StatusResponse{Header: &etcdserverpb.ResponseHeader{MemberId: id}, Leader: f.leader}, nil
}

func TestMembersHealth(t *testing.T) {
	mk := func(id uint64, name, client, peer string) *etcdserverpb.Member {
		m := &etcdserverpb.Member{ID: id, Name: name, PeerURLs: []string{peer}}
		if client != "" {
			m.ClientURLs = []string{client}
		}
		return m
	}
	up := map[string]bool{"https://10.0.0.1:7001": true, "https://10.0.0.2:7001": true}
	dial := func(_ context.Context, u string) error {
		if up[u] {
			return nil
		}
		return errors.New("connection refused")
	}
	for _, tc := range []struct {
		name string
		f    fakeLister
		want string // name:healthy/leader per member, sorted by name
	}{
		{
			// Three masters, each etcd on its own host's 127.0.0.1:4001: from
			// master a, every client URL is a's own etcd.
			"loopback client URLs on separate hosts",
			fakeLister{
				members: []*etcdserverpb.Member{mk(1, "a", "http://127.0.0.1:4001", "https://10.0.0.1:7001"), mk(2, "b", "http://127.0.0.1:4001", "https://10.0.0.2:7001"), mk(3, "c", "http://127.0.0.1:4001", "https://10.0.0.3:7001")},
				behind:  map[string]uint64{"http://127.0.0.1:4001": 1},
				leader:  2,
			},
			"a:healthy b:healthy,leader c:down",
		},
		{
			"client URLs reachable, one down",
			fakeLister{
				members: []*etcdserverpb.Member{mk(1, "a", "http://127.0.0.1:2001", "http://127.0.0.1:7001"), mk(2, "b", "http://127.0.0.1:2002", "http://127.0.0.1:7002"), mk(3, "c", "http://127.0.0.1:2003", "http://127.0.0.1:7003")},
				behind:  map[string]uint64{"http://127.0.0.1:2001": 1, "http://127.0.0.1:2003": 3},
				leader:  3,
			},
			"a:healthy b:down c:healthy,leader",
		},
		{
			"a member not started",
			fakeLister{
				members: []*etcdserverpb.Member{mk(1, "a", "http://127.0.0.1:4001", "https://10.0.0.1:7001"), mk(2, "", "", "https://10.0.0.2:7001")},
				behind:  map[string]uint64{"http://127.0.0.1:4001": 1},
				leader:  1,
			},
			":down a:healthy,leader",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := members(context.Background(), &tc.f, dial)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range ms {
				s := m.Name + ":"
				switch {
				case m.Healthy && m.Leader:
					s += "healthy,leader"
				case m.Healthy:
					s += "healthy"
				default:
					s += "down"
					if m.Err == "" {
						t.Errorf("member %q down without a reason", m.Name)
					}
				}
				got = append(got, s)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), tc.want)
			}
		})
	}
}
