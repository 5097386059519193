package memory_test

import (
	"context"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memory.New() })
}

func TestWatchGone(t *testing.T) {
	s := memory.NewWithHistory(2)
	c := context.Background()
	for _, id := range []string{"a", "b", "c", "d"} {
		if _, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Watch(c, api.Pods, store.ListOptions{ResourceVersion: 1}); !api.IsGone(err) {
		t.Fatalf("want Gone, got %v", err)
	}
	if _, err := s.Watch(c, api.Pods, store.ListOptions{ResourceVersion: 3}); err != nil {
		t.Fatalf("watch from kept history: %v", err)
	}
}

func TestWatchBacklogOnlyOwnResource(t *testing.T) {
	s := memory.New()
	c, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, err := s.Create(c, &api.Minion{TypeMeta: api.TypeMeta{ID: "m"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(c, &api.Pod{TypeMeta: api.TypeMeta{ID: "p"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(c, &api.Minion{TypeMeta: api.TypeMeta{ID: "m2"}}); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(c, api.Minions, store.ListOptions{ResourceVersion: m.Meta().ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	ev := <-ch
	if _, ok := ev.Object.(*api.Minion); !ok || ev.Object.Meta().ID != "m2" {
		t.Fatalf("minion watch from history delivered %T %q, want minion m2", ev.Object, ev.Object.Meta().ID)
	}
}
