package registry

import (
	"context"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/store/memory"
)

func TestMemClaims(t *testing.T) {
	c := newMemClaims()
	ctx := context.Background()
	steps := []struct {
		op, ip, owner string
		want          bool
	}{
		{"claim", "10.0.0.1", "a", true},
		{"claim", "10.0.0.1", "a", false}, // held, even by the same owner
		{"claim", "10.0.0.1", "b", false},
		{"release", "10.0.0.1", "b", false}, // not b's: stays
		{"claim", "10.0.0.1", "b", false},
		{"release", "10.0.0.1", "a", false},
		{"claim", "10.0.0.1", "b", true},
	}
	for i, s := range steps {
		switch s.op {
		case "claim":
			got, err := c.Claim(ctx, s.ip, s.owner)
			if err != nil || got != s.want {
				t.Fatalf("step %d: claim %s for %s = %v %v, want %v", i, s.ip, s.owner, got, err, s.want)
			}
		case "release":
			if err := c.Release(ctx, s.ip, s.owner); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRepairPortals: a claim whose service does not exist is released at
// the second pass that finds it orphaned, never at the first (a create in
// flight has claimed but not stored yet); claims of stored services stay.
func TestRepairPortals(t *testing.T) {
	ctx := context.Background()
	raw := memory.New()
	r, err := New(raw, Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := &api.Service{TypeMeta: api.TypeMeta{ID: "web"}, Port: 80, Selector: map[string]string{"a": "b"}}
	out, err := r.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	live := out.(*api.Service).PortalIP
	// A master claimed .9 for "ghost", then died before storing it.
	if ok, _ := r.claims.Claim(ctx, "10.254.0.9", "default/ghost"); !ok {
		t.Fatal("claim")
	}
	for pass, want := range []int{0, 1, 0} {
		n, err := r.repairPortals(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Fatalf("pass %d released %d, want %d", pass, n, want)
		}
	}
	claims, _ := r.claims.List(ctx)
	if len(claims) != 1 || claims[live] != "default/web" {
		t.Fatalf("claims after repair %v, want only %s for default/web", claims, live)
	}

	// A claim orphaned at one pass whose service is stored before the next
	// is kept.
	if ok, _ := r.claims.Claim(ctx, "10.254.0.10", "default/slow"); !ok {
		t.Fatal("claim")
	}
	if n, _ := r.repairPortals(ctx); n != 0 {
		t.Fatalf("first pass released %d", n)
	}
	slow := &api.Service{TypeMeta: api.TypeMeta{ID: "slow", Namespace: "default"}, Port: 80, Selector: map[string]string{"a": "b"}, PortalIP: "10.254.0.10"}
	if _, err := raw.Create(ctx, slow); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.repairPortals(ctx); n != 0 {
		t.Fatalf("the claim of a stored service was released")
	}
}
