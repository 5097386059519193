package registry_test

import (
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/registry"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
)

// Issue 17 item 5, through the registry the API serves: a non-JSON value
// under the pods prefix does not fail the list, and DELETE of it succeeds.
func TestHostileUndecodablePod(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	r := start(t, etcdstore.New(cli), registry.Config{})
	c := ctx(t)
	if _, err := r.Create(c, pod("good")); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(c, "/registry/pods/default/bad", "not json"); err != nil {
		t.Fatal(err)
	}
	objs, _, err := r.List(c, api.Pods, store.ListOptions{})
	if err != nil || len(objs) != 1 || objs[0].Meta().ID != "good" {
		t.Fatalf("list = %d objects, %v; want only the good pod", len(objs), err)
	}
	if _, err := r.Delete(c, api.Pods, "default", "bad"); err != nil {
		t.Fatalf("delete of the undecodable pod: %v", err)
	}
	if resp, err := cli.Get(c, "/registry/pods/default/bad"); err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("the undecodable value is still stored (%v)", err)
	}
}
