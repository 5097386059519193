package etcd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fakeMembers is a hand-written memberAPI: a member list and scripted
// answers to its calls, in order; a call past the script answers nil (and a
// removal then takes the member off the list).
type fakeMembers struct {
	members      []string
	listErrs     []error
	removeErrs   []error
	landsAnyway  bool // a removal that fails still removes the member
	lists, calls int
}

func (f *fakeMembers) MemberList(ctx context.Context, _ ...clientv3.OpOption) (*clientv3.MemberListResponse, error) {
	f.lists++
	if len(f.listErrs) > 0 {
		err := f.listErrs[0]
		f.listErrs = f.listErrs[1:]
		return nil, err
	}
	resp := &clientv3.MemberListResponse{}
	for i, n := range f.members {
		resp.Members = append(resp.Members, &etcdserverpb.Member{ID: uint64(i + 1), Name: n})
	}
	return resp, nil
}

func (f *fakeMembers) MemberRemove(ctx context.Context, id uint64) (*clientv3.MemberRemoveResponse, error) {
	f.calls++
	var err error
	if len(f.removeErrs) > 0 {
		err = f.removeErrs[0]
		f.removeErrs = f.removeErrs[1:]
	}
	if err == nil || f.landsAnyway {
		f.members = append(f.members[:id-1:id-1], f.members[id:]...)
	}
	return &clientv3.MemberRemoveResponse{}, err
}

func TestRemoveMember(t *testing.T) {
	denied := rpctypes.ErrPermissionDenied
	for _, tc := range []struct {
		name       string
		f          fakeMembers
		wantErr    string // "" for success
		wantRemove int
	}{
		{name: "removed", f: fakeMembers{members: []string{"a", "m3"}}, wantRemove: 1},
		{name: "no such member", f: fakeMembers{members: []string{"a"}}, wantErr: "remove etcd member m3: no such member"},
		{name: "timed out but landed", f: fakeMembers{members: []string{"a", "m3"}, removeErrs: []error{context.DeadlineExceeded}, landsAnyway: true}, wantRemove: 1},
		{name: "leader changed, then removed", f: fakeMembers{members: []string{"a", "m3"}, removeErrs: []error{rpctypes.ErrLeaderChanged, rpctypes.ErrTimeoutDueToLeaderFail}}, wantRemove: 3},
		{name: "list without a leader, then removed", f: fakeMembers{members: []string{"m3", "a"}, listErrs: []error{rpctypes.ErrGRPCNoLeader, context.DeadlineExceeded}}, wantRemove: 1},
		{name: "denied: no second try", f: fakeMembers{members: []string{"a", "m3"}, removeErrs: []error{denied}}, wantErr: "remove etcd member m3: etcdserver: permission denied", wantRemove: 1},
		{name: "removed by another, mid-way", f: fakeMembers{members: []string{"a", "m3"}, removeErrs: []error{rpctypes.ErrMemberNotFound}}, wantErr: "no such member", wantRemove: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			f := tc.f
			err := RemoveMember(ctx, &f, "m3")
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if f.calls != tc.wantRemove {
				t.Errorf("%d removals tried, want %d", f.calls, tc.wantRemove)
			}
			if err == nil {
				for _, m := range f.members {
					if m == "m3" {
						t.Errorf("m3 still a member")
					}
				}
			}
		})
	}
}

// TestRemoveMemberGivesUp: with no answer at all, the removal ends with its
// context and says what the last try met.
func TestRemoveMemberGivesUp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	var errs []error
	for i := 0; i < 100; i++ {
		errs = append(errs, rpctypes.ErrGRPCNoLeader)
	}
	f := &fakeMembers{members: []string{"m3"}, listErrs: errs}
	err := RemoveMember(ctx, f, "m3")
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no leader") {
		t.Fatalf("err %v: want the deadline and the last error", err)
	}
	if f.lists < 2 {
		t.Errorf("%d lists: want retries", f.lists)
	}
}
