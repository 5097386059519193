package etcd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/api"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
	"kubelite/internal/store/storetest"
	"kubelite/internal/testutil"
)

// runContract runs the store contract on a store over cli, each subtest on
// an empty keyspace.
func runContract(t *testing.T, cli *clientv3.Client) {
	storetest.Run(t, func(t *testing.T) store.Store {
		if _, err := cli.Delete(context.Background(), store.KeyPrefix, clientv3.WithPrefix()); err != nil {
			t.Fatal(err)
		}
		return etcdstore.New(cli)
	})
}

func TestContract(t *testing.T) {
	t.Parallel()
	runContract(t, etcdtest.Start(t, "").Client(t))
}

// TestContractLocalClient runs the contract on the in-process client the
// master's store uses for its embedded etcd (etcd.Embedded.LocalClient).
func TestContractLocalClient(t *testing.T) {
	t.Parallel()
	runContract(t, etcdtest.Start(t, "").LocalClient(t))
}

func TestKeyLayoutAndJSON(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	s := etcdstore.New(cli)
	c := context.Background()
	cases := []struct {
		obj api.Object
		key string
	}{
		{&api.Pod{TypeMeta: api.TypeMeta{ID: "p", Namespace: "ns1"}}, "/registry/pods/ns1/p"},
		{&api.Pod{TypeMeta: api.TypeMeta{ID: "q"}}, "/registry/pods/default/q"},
		{&api.ReplicationController{TypeMeta: api.TypeMeta{ID: "rc"}}, "/registry/controllers/default/rc"},
		{&api.Service{TypeMeta: api.TypeMeta{ID: "svc"}}, "/registry/services/specs/default/svc"},
		{&api.Endpoints{TypeMeta: api.TypeMeta{ID: "svc"}}, "/registry/services/endpoints/default/svc"},
		{&api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}}, "/registry/minions/m1"},
		{&api.Event{TypeMeta: api.TypeMeta{ID: "e1"}}, "/registry/events/default/e1"},
	}
	for _, tc := range cases {
		created, err := s.Create(c, tc.obj)
		if err != nil {
			t.Fatalf("%s: %v", tc.key, err)
		}
		r, err := cli.Get(c, tc.key)
		if err != nil || len(r.Kvs) != 1 {
			t.Fatalf("%s: not stored there (%v)", tc.key, err)
		}
		if uint64(r.Kvs[0].ModRevision) != created.Meta().ResourceVersion {
			t.Errorf("%s: resourceVersion %d, mod revision %d", tc.key, created.Meta().ResourceVersion, r.Kvs[0].ModRevision)
		}
		if string(r.Kvs[0].Value) == "" || r.Kvs[0].Value[0] != '{' {
			t.Errorf("%s: value is not JSON: %q", tc.key, r.Kvs[0].Value)
		}
		wantLease := tc.key == "/registry/events/default/e1"
		if got := r.Kvs[0].Lease != 0; got != wantLease {
			t.Errorf("%s: lease set %v, want %v", tc.key, got, wantLease)
		}
	}
}

func TestEventLeaseTTL(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	s := etcdstore.New(cli)
	c := context.Background()
	if _, err := s.Create(c, &api.Event{TypeMeta: api.TypeMeta{ID: "e"}, Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	r, _ := cli.Get(c, "/registry/events/default/e")
	ttl, err := cli.TimeToLive(c, clientv3.LeaseID(r.Kvs[0].Lease))
	if err != nil {
		t.Fatal(err)
	}
	if ttl.GrantedTTL != int64(time.Hour/time.Second) || ttl.TTL < 3500 {
		t.Fatalf("event lease granted %ds, left %ds; want 3600", ttl.GrantedTTL, ttl.TTL)
	}
	// An update keeps the lease.
	got, _ := s.Get(c, api.Events, "default", "e")
	got.(*api.Event).Message = "again"
	if _, err := s.Update(c, got); err != nil {
		t.Fatal(err)
	}
	r2, _ := cli.Get(c, "/registry/events/default/e")
	if r2.Kvs[0].Lease != r.Kvs[0].Lease {
		t.Fatalf("update dropped the event's lease")
	}
}

func TestWatchCompactedIsGone(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	s := etcdstore.New(cli)
	c := context.Background()
	var last uint64
	for _, id := range []string{"a", "b", "c"} {
		o, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: id}})
		if err != nil {
			t.Fatal(err)
		}
		last = o.Meta().ResourceVersion
	}
	if _, err := cli.Compact(c, int64(last)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Watch(c, api.Pods, store.ListOptions{ResourceVersion: 1}); !api.IsGone(err) {
		t.Fatalf("watch from a compacted revision: want Gone, got %v", err)
	}
	ch, err := s.Watch(c, api.Pods, store.ListOptions{ResourceVersion: last})
	if err != nil {
		t.Fatalf("watch from the compaction point: %v", err)
	}
	if _, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: "d"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.Type != store.Added || ev.Object.Meta().ID != "d" {
			t.Fatalf("got %s %s", ev.Type, ev.Object.Meta().ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
}

func TestWatchEndsWithContext(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	s := etcdstore.New(srv.Client(t))
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := s.Watch(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch channel did not close when ctx ended")
	}
}

func TestUnavailableIsStatus(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	s := etcdstore.New(cli)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Get(ctx, api.Pods, "default", "x")
	if st := api.StatusOf(err); st.Code != 503 {
		t.Fatalf("canceled get: want 503, got %+v", st)
	}
}

// An event's shared lease revoked under it is replaced, once, whichever
// client the store has: the in-process client's writes are built by the
// store itself and must see etcd's "lease not found" as clientv3 does.
func TestEventLeaseRevokedIsReplaced(t *testing.T) {
	t.Parallel()
	for _, local := range []bool{false, true} {
		t.Run(map[bool]string{false: "network", true: "local"}[local], func(t *testing.T) {
			t.Parallel()
			srv := etcdtest.Start(t, "")
			cli := srv.Client(t)
			storeCli := cli
			if local {
				storeCli = srv.LocalClient(t)
			}
			s := etcdstore.New(storeCli)
			c := context.Background()
			if _, err := s.Create(c, &api.Event{TypeMeta: api.TypeMeta{ID: "e1"}}); err != nil {
				t.Fatal(err)
			}
			r, _ := cli.Get(c, "/registry/events/default/e1")
			if _, err := cli.Revoke(c, clientv3.LeaseID(r.Kvs[0].Lease)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Create(c, &api.Event{TypeMeta: api.TypeMeta{ID: "e2"}}); err != nil {
				t.Fatalf("create after the shared lease was revoked: %v", err)
			}
			r2, _ := cli.Get(c, "/registry/events/default/e2")
			if len(r2.Kvs) != 1 || r2.Kvs[0].Lease == 0 || r2.Kvs[0].Lease == r.Kvs[0].Lease {
				t.Fatalf("e2 not stored with a new lease: %+v", r2.Kvs)
			}
			// An update keeps the event's lease (WithIgnoreLease).
			o, err := s.Get(c, api.Events, "default", "e2")
			if err != nil {
				t.Fatal(err)
			}
			o.(*api.Event).Message = "again"
			if _, err := s.Update(c, o); err != nil {
				t.Fatalf("update e2: %v", err)
			}
			r3, _ := cli.Get(c, "/registry/events/default/e2")
			if len(r3.Kvs) != 1 || r3.Kvs[0].Lease != r2.Kvs[0].Lease {
				t.Fatalf("updated e2 lost its lease: %+v, had %d", r3.Kvs, r2.Kvs[0].Lease)
			}
		})
	}
}

// TestWatchFromListRevisionLogsNothing: the common watch (from the revision a
// list returned) makes no request etcd refuses, so the client logs no warning.
func TestWatchFromListRevisionLogsNothing(t *testing.T) {
	var buf testutil.SyncBuffer
	std := logrus.StandardLogger()
	out, lvl := std.Out, std.GetLevel()
	std.SetOutput(&buf)
	std.SetLevel(logrus.DebugLevel)
	t.Cleanup(func() { std.SetOutput(out); std.SetLevel(lvl) })

	srv := etcdtest.Start(t, "")
	s := etcdstore.New(srv.Client(t)).WithLog(logrus.WithField("component", "store"))
	buf.Reset() // etcd's own start-up lines
	c, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: "a"}}); err != nil {
		t.Fatal(err)
	}
	_, rev, err := s.List(c, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, rv := range []uint64{rev, 0, 1} {
		if _, err := s.Watch(c, api.Pods, store.ListOptions{ResourceVersion: rv}); err != nil {
			t.Fatalf("watch from %d: %v", rv, err)
		}
	}
	if l := buf.String(); strings.Contains(l, "retrying of unary invoker failed") || strings.Contains(l, "level=warning") || strings.Contains(l, "level=error") {
		t.Fatalf("watches logged warnings:\n%s", buf.String())
	}
}

// TestOwnedWritesReturnTheirObject: CreateOwned and UpdateOwned hand back
// the object they were given, its resourceVersion the write's revision;
// Create and Update hand back a copy that shares nothing with the caller's
// object.
func TestOwnedWritesReturnTheirObject(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.LocalClient(t)
	s := etcdstore.New(cli)
	c := context.Background()
	cases := []struct {
		name   string
		update bool
		write  func(context.Context, api.Object) (api.Object, error)
		same   bool
	}{
		{"Create", false, s.Create, false},
		{"CreateOwned", false, s.CreateOwned, true},
		{"Update", true, s.Update, false},
		{"UpdateOwned", true, s.UpdateOwned, true},
	}
	for _, tc := range cases {
		in := &api.Pod{TypeMeta: api.TypeMeta{ID: strings.ToLower(tc.name), Labels: map[string]string{"app": "web"}}}
		if tc.update {
			first, err := s.Create(c, in)
			if err != nil {
				t.Fatalf("%s: create: %v", tc.name, err)
			}
			in = first.(*api.Pod) // an update at the version just written
			in.CurrentState.Host = "m1"
		}
		out, err := tc.write(c, in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if same := out == api.Object(in); same != tc.same {
			t.Errorf("%s: returned its argument %v, want %v", tc.name, same, tc.same)
		}
		r, err := cli.Get(c, "/registry/pods/default/"+in.ID)
		if err != nil || len(r.Kvs) != 1 {
			t.Fatalf("%s: not stored (%v)", tc.name, err)
		}
		if got := out.Meta().ResourceVersion; got != uint64(r.Kvs[0].ModRevision) {
			t.Errorf("%s: resourceVersion %d, want the write's revision %d", tc.name, got, r.Kvs[0].ModRevision)
		}
		if tc.update && !strings.Contains(string(r.Kvs[0].Value), `"host":"m1"`) {
			t.Errorf("%s: stored %s, want the update's currentState.host", tc.name, r.Kvs[0].Value)
		}
		if !tc.same {
			out.Meta().Labels["app"] = "changed"
			if in.Labels["app"] != "web" {
				t.Errorf("%s: the returned object shares its labels with the caller's", tc.name)
			}
		}
	}
}
