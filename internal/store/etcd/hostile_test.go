package etcd_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/etcd/etcdtest"
	etcdstore "kubelite/internal/store/etcd"
)

// Issue 17 item 3: objects between 1.5 and 3 MiB got 500 (etcd's request
// limit) instead of 413, and 1 MiB events filled etcd's quota in 33 s.
func TestHostileObjectSizes(t *testing.T) {
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
