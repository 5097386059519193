package etcd

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fakeMover is a hand-written leaderMover: one member's view of the cluster.
type fakeMover struct {
	self, leader uint64
	members      []*etcdserverpb.Member
	fail         map[uint64]bool // MoveLeader to these fails
	statusErr    error
	moves        []uint64
}

func (f *fakeMover) Status(context.Context, string) (*clientv3.StatusResponse, error) {
	if f.statusErr != nil {
		return nil, f.statusErr
	}
	return &clientv3.StatusResponse{Header: &etcdserverpb.ResponseHeader{MemberId: f.self}, Leader: f.leader}, nil
}

func (f *fakeMover) MemberList(context.Context, ...clientv3.OpOption) (*clientv3.MemberListResponse, error) {
	return &clientv3.MemberListResponse{Members: f.members}, nil
}

func (f *fakeMover) MoveLeader(_ context.Context, id uint64) (*clientv3.MoveLeaderResponse, error) {
	f.moves = append(f.moves, id)
	if f.fail[id] {
		return nil, errors.New("etcdserver: request timed out, leader transfer took too long")
	}
	f.leader = id
	return &clientv3.MoveLeaderResponse{}, nil
}

func member(id uint64, started, learner bool) *etcdserverpb.Member {
	m := &etcdserverpb.Member{ID: id, Name: "m", IsLearner: learner}
	if started {
		m.ClientURLs = []string{"http://127.0.0.1:4001"}
	}
	return m
}

func TestSpread(t *testing.T) {
	three := []*etcdserverpb.Member{member(1, true, false), member(2, true, false), member(3, true, false)}
	for _, tc := range []struct {
		name      string
		f         fakeMover
		wantMoved uint64
		wantTries []uint64
		wantErr   bool
	}{
		{"not the leader: nothing", fakeMover{self: 1, leader: 2, members: three}, 0, nil, false},
		{"leader: moves to the first other member", fakeMover{self: 1, leader: 1, members: three}, 2, []uint64{2}, false},
		{"a member that does not take it is skipped", fakeMover{self: 2, leader: 2, members: three, fail: map[uint64]bool{1: true}}, 3, []uint64{1, 3}, false},
		{"alone: nothing", fakeMover{self: 1, leader: 1, members: three[:1]}, 0, nil, false},
		{"never started or learner: not a transferee", fakeMover{self: 1, leader: 1, members: []*etcdserverpb.Member{member(1, true, false), member(2, false, false), member(3, true, true)}}, 0, nil, false},
		{"nobody takes it: the error", fakeMover{self: 1, leader: 1, members: three, fail: map[uint64]bool{2: true, 3: true}}, 0, []uint64{2, 3}, true},
		{"status fails: the error", fakeMover{statusErr: errors.New("connection refused")}, 0, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			s := &Spread{Client: &f, Endpoint: "http://127.0.0.1:4001"}
			moved, err := s.Once(context.Background())
			if moved != tc.wantMoved || (err != nil) != tc.wantErr || !reflect.DeepEqual(f.moves, tc.wantTries) {
				t.Errorf("moved %d err %v tries %v; want %d err %v tries %v", moved, err, f.moves, tc.wantMoved, tc.wantErr, tc.wantTries)
			}
		})
	}
}
