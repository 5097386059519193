package etcd_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/store"
	etcdstore "kubelite/internal/store/etcd"
	"kubelite/internal/testutil"
)

// Issue 17 item 3: objects between 1.5 and 3 MiB got 500 (etcd's request
// limit) instead of 413, and 1 MiB events filled etcd's quota in 33 s.
func TestHostileObjectSizes(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	s := etcdstore.New(srv.Client(t))
	c := context.Background()
	big := func(n int) map[string]string { return map[string]string{"x": strings.Repeat("a", n)} }
	cases := []struct {
		name string
		obj  api.Object
		code int
	}{
		{"2 MiB pod", &api.Pod{TypeMeta: api.TypeMeta{ID: "big", Annotations: big(2 << 20)}}, http.StatusRequestEntityTooLarge},
		{"1.6 MiB service", &api.Service{TypeMeta: api.TypeMeta{ID: "big", Annotations: big(1600 << 10)}}, http.StatusRequestEntityTooLarge},
		{"1 MiB pod", &api.Pod{TypeMeta: api.TypeMeta{ID: "ok", Annotations: big(1 << 20)}}, 0},
		{"20 KiB event", &api.Event{TypeMeta: api.TypeMeta{ID: "big"}, Message: strings.Repeat("m", 20<<10)}, http.StatusRequestEntityTooLarge},
		{"1 KiB event", &api.Event{TypeMeta: api.TypeMeta{ID: "ok"}, Message: strings.Repeat("m", 1<<10)}, 0},
	}
	for _, tc := range cases {
		_, err := s.Create(c, tc.obj)
		if got := codeOf(err); got != tc.code {
			t.Errorf("create %s: code %d (%v), want %d", tc.name, got, err, tc.code)
		}
		if tc.code == 0 {
			// An update past the limit is refused too.
			obj := api.DeepCopy(tc.obj)
			obj.Meta().ResourceVersion = 0
			obj.Meta().Annotations = big(etcdstore.MaxBytes(mustRes(t, obj)) + 1)
			if _, err := s.Update(c, obj); codeOf(err) != http.StatusRequestEntityTooLarge {
				t.Errorf("update %s past its limit: %v, want 413", tc.name, err)
			}
		} else if err != nil && !strings.Contains(err.Error(), "bytes when stored") {
			t.Errorf("create %s: message %q does not say why", tc.name, err)
		}
	}
}

func codeOf(err error) int {
	if err == nil {
		return 0
	}
	return api.StatusOf(err).Code
}

func mustRes(t *testing.T, obj api.Object) api.Resource {
	t.Helper()
	res, err := api.ResourceOf(obj)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Issue 17 item 5: one non-JSON value under the pods prefix made every pod
// list and watch fail (500), which stopped scheduling.
func TestHostileUndecodableValue(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	cli := srv.Client(t)
	s := etcdstore.New(cli)
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range []string{"a", "b"} {
		if _, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	// Two watchers: the shared watch and one of its own (from revision 1,
	// before the shared watch's history).
	shared, err := s.Watch(c, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	own, err := s.Watch(c, api.Pods, store.ListOptions{ResourceVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(c, "/registry/pods/default/garbage", "\x00not json{"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(c, "/registry/pods/default/b", "also not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: "c"}}); err != nil {
		t.Fatal(err)
	}

	objs, _, err := s.List(c, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatalf("list with an undecodable value: %v", err)
	}
	var ids []string
	for _, o := range objs {
		ids = append(ids, o.Meta().ID)
	}
	if strings.Join(ids, ",") != "a,c" {
		t.Fatalf("list = %v, want a,c (the undecodable ones left out)", ids)
	}

	// Watchers see: b deleted (its value went bad), c added; the
	// garbage key not at all; and the stream goes on.
	wants := map[string]string{"shared": "DELETED b,ADDED c", "own": "ADDED b,DELETED b,ADDED c"}
	for name, ch := range map[string]<-chan store.Event{"shared": shared, "own": own} {
		var got []string
		for len(got) == 0 || got[len(got)-1] != "ADDED c" {
			select {
			case ev, ok := <-ch:
				if !ok {
					t.Fatalf("%s watch ended after %v", name, got)
				}
				if ev.Type == store.Error {
					t.Fatalf("%s watch: error event %+v", name, ev.Object)
				}
				if ev.Object.Meta().ID == "a" {
					continue // the own watch from revision 1 replays a's create
				}
				got = append(got, string(ev.Type)+" "+ev.Object.Meta().ID)
			case <-c.Done():
				t.Fatalf("%s watch: %v after 30s", name, got)
			}
		}
		if g := strings.Join(got, ","); g != wants[name] {
			t.Errorf("%s watch: %s, want %s", name, g, wants[name])
		}
	}

	// Get names the key; Delete succeeds.
	if _, err := s.Get(c, api.Pods, "default", "garbage"); err == nil || !strings.Contains(err.Error(), "/registry/pods/default/garbage") {
		t.Errorf("get of the undecodable value: %v, want an error naming its key", err)
	}
	if _, err := s.Delete(c, api.Pods, "default", "garbage"); err != nil {
		t.Errorf("delete of the undecodable value: %v", err)
	}
	if _, err := s.Delete(c, api.Pods, "default", "garbage"); !api.IsNotFound(err) {
		t.Errorf("second delete: %v, want NotFound", err)
	}
	// An event names the key.
	testutil.Eventually(t, 10*time.Second, func() error {
		evs, _, err := s.List(c, api.Events, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, o := range evs {
			e := o.(*api.Event)
			if e.Reason == etcdstore.ReasonUndecodable && e.InvolvedObject.Name == "garbage" && strings.Contains(e.Message, "/registry/pods/default/garbage") {
				return nil
			}
		}
		return fmt.Errorf("no Undecodable event naming the key among %d events", len(evs))
	}, "an event about the undecodable value")
}
