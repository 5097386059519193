package roles

import (
	"context"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// conflictOnce fails the first n minion updates with a conflict, as the
// kubelet's own write of its minion between our read and write would.
type conflictOnce struct {
	store.Store
	n int
}

func (c *conflictOnce) Update(ctx context.Context, o api.Object) (api.Object, error) {
	if c.n > 0 {
		c.n--
		return nil, api.NewConflict("Minion", o.Meta().ID, "changed meanwhile")
	}
	return c.Store.Update(ctx, o)
}

// TestAssignPodCIDR: the bench's Docker kubelet gets its podCIDR as a
// node controller would give it, through conflicts; a missing minion is an
// error naming it.
func TestAssignPodCIDR(t *testing.T) {
	for _, tc := range []struct {
		name      string
		conflicts int
		minion    string
		wantErr   bool
	}{
		{name: "first write", minion: "m1"},
		{name: "after conflicts", conflicts: 3, minion: "m1"},
		{name: "no such minion", minion: "m2", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.New()
			if _, err := mem.Create(t.Context(), &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}, HostIP: "127.0.0.1"}); err != nil {
				t.Fatal(err)
			}
			st := &conflictOnce{Store: mem, n: tc.conflicts}
			err := assignPodCIDR(t.Context(), st, tc.minion, benchPodCIDR)
			if tc.wantErr {
				if err == nil || !api.IsNotFound(err) {
					t.Fatalf("err = %v, want not found", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o, err := mem.Get(t.Context(), api.Minions, "", "m1")
			if err != nil {
				t.Fatal(err)
			}
			if got := o.(*api.Minion).PodCIDR; got != benchPodCIDR {
				t.Fatalf("podCIDR %q, want %q", got, benchPodCIDR)
			}
			if st.n != 0 {
				t.Fatalf("%d conflicts left unconsumed", st.n)
			}
		})
	}
}
