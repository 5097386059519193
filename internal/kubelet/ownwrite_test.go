package kubelet

import (
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/store/memory"
)

// podsLister is a fixed pod cache.
type podsLister map[string]api.Object

func (l podsLister) Get(key string) (api.Object, bool) { o, ok := l[key]; return o, ok }
func (l podsLister) List() []api.Object {
	out := make([]api.Object, 0, len(l))
	for _, o := range l {
		out = append(out, o)
	}
	return out
}

// A change to the very version of a pod that the kubelet's own status write
// made queues no sync; any other version, or a pod gone, does.
func TestPodChangedSkipsOwnStatusWrite(t *testing.T) {
	pod := func(rv uint64) *api.Pod {
		return &api.Pod{TypeMeta: api.TypeMeta{ID: "web", Namespace: "default", ResourceVersion: rv}}
	}
	cases := []struct {
		name    string
		cached  api.Object // nil: not in the cache
		written uint64     // 0: no write of ours
		queued  bool
	}{
		{"our own write", pod(7), 7, false},
		{"a later change by someone else", pod(8), 7, true},
		{"an older version (cache behind)", pod(6), 7, true},
		{"never written by us", pod(7), 0, true},
		{"gone from the cache", nil, 7, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pods := podsLister{}
			if c.cached != nil {
				pods["default/web"] = c.cached
			}
			k, _, err := NewHollow(memory.New(), "m1", func(cfg *Config) { cfg.Pods = pods })
			if err != nil {
				t.Fatal(err)
			}
			if c.written != 0 {
				k.written["default/web"] = c.written
			}
			k.podChanged("default/web")
			if got := k.queue.Len() == 1; got != c.queued {
				t.Fatalf("queued %v, want %v", got, c.queued)
			}
		})
	}
}
