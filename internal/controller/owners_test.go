package controller

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

func TestMain(m *testing.M) { os.Exit(testutil.NoLeaks(m).Run()) }

func svc(ns, id string, sel map[string]string) *api.Service {
	return &api.Service{TypeMeta: api.TypeMeta{ID: id, Namespace: ns}, Port: 80, Selector: sel}
}

func pod(ns, id string, labels map[string]string) *api.Pod {
	return &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: ns, Labels: labels}}
}

func TestSelects(t *testing.T) {
	web := map[string]string{"app": "web"}
	cases := []struct {
		sel            map[string]string
		ownerNS, podNS string
		labels         map[string]string
		want           bool
	}{
		{web, "default", "default", map[string]string{"app": "web", "v": "1"}, true},
		{web, "default", "prod", web, false},
		{nil, "default", "default", web, false},
		{web, "default", "default", map[string]string{"app": "db"}, false},
		{web, "default", "default", nil, false},
	}
	for i, tc := range cases {
		if got := Selects(tc.sel, tc.ownerNS, tc.podNS, tc.labels); got != tc.want {
			t.Errorf("case %d: Selects = %v, want %v", i, got, tc.want)
		}
	}
}

// TestPodOwnersChanged: a pod reaches the owners selecting it now and
// before, in its own namespace only, also once it is deleted.
func TestPodOwnersChanged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := memory.New()
	for _, o := range []api.Object{
		svc("default", "web", map[string]string{"app": "web"}),
		svc("default", "v2", map[string]string{"v": "2"}),
		svc("default", "all", nil), // selects nothing
		svc("prod", "web", map[string]string{"app": "web"}),
		pod("default", "p", map[string]string{"app": "web", "v": "1"}),
	} {
		if _, err := st.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	pods := store.NewInformer(st, api.Pods, store.ListOptions{}, nil)
	owners := store.NewInformer(st, api.Services, store.ListOptions{}, nil)
	defer store.StartInformers(ctx, pods, owners)()
	defer cancel()
	if !pods.WaitSynced(ctx) || !owners.WaitSynced(ctx) {
		t.Fatal("caches did not sync")
	}
	idx := NewPodOwners(pods, owners, func(o api.Object) map[string]string { return o.(*api.Service).Selector })
	show := func(ch PodChange) string {
		out := fmt.Sprintf("exists=%v known=%v", ch.Exists, ch.WasKnown)
		m := map[string]OwnerMatch{}
		for _, o := range ch.Owners {
			m[o.Key] = o
		}
		for _, k := range []string{"default/web", "default/v2", "default/all", "prod/web"} {
			if o, ok := m[k]; ok {
				out += fmt.Sprintf(" %s(now=%v,before=%v)", k, o.Now, o.Before)
			}
		}
		return out
	}
	check := func(step, want string) {
		t.Helper()
		if got := show(idx.Changed("default/p")); got != want {
			t.Fatalf("%s:\n got %s\nwant %s", step, got, want)
		}
	}
	check("first seen", "exists=true known=false default/web(now=true,before=false)")

	o, _ := st.Get(ctx, api.Pods, "default", "p")
	p := o.(*api.Pod)
	p.Labels = map[string]string{"v": "2"}
	if _, err := st.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool {
		o, ok := pods.Get("default/p")
		return ok && o.Meta().Labels["v"] == "2"
	}, "relabel seen by the cache")
	check("relabelled", "exists=true known=true default/web(now=false,before=true) default/v2(now=true,before=false)")

	if _, err := st.Delete(ctx, api.Pods, "default", "p"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, func() bool { _, ok := pods.Get("default/p"); return !ok }, "delete seen by the cache")
	check("deleted", "exists=false known=true default/v2(now=false,before=true)")
	check("forgotten", "exists=false known=false")
}
