package record

import (
	"context"
	"fmt"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

func events(t *testing.T, s store.Store) []*api.Event {
	t.Helper()
	objs, _, err := s.List(context.Background(), api.Events, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*api.Event, len(objs))
	for i, o := range objs {
		out[i] = o.(*api.Event)
	}
	return out
}

func TestRecordWritesEvent(t *testing.T) {
	st := memory.New()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := New(st, Config{Source: "scheduler", Clock: clk})
	pod := &api.Pod{TypeMeta: api.TypeMeta{ID: "web-1", Namespace: "default", UID: "u1"}}
	r.Record(context.Background(), pod, "failedScheduling", "0/2 minions fit: 2 hostPort 8080 in use")
	minion := &api.Minion{TypeMeta: api.TypeMeta{ID: "10.0.0.1"}}
	r.Record(context.Background(), minion, "NotReady", "no heartbeat for 41s")
	evs := events(t, st)
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2", len(evs))
	}
	byReason := map[string]*api.Event{}
	for _, e := range evs {
		byReason[e.Reason] = e
	}
	e := byReason["failedScheduling"]
	if e == nil || e.InvolvedObject.Kind != "Pod" || e.InvolvedObject.Name != "web-1" || e.InvolvedObject.UID != "u1" ||
		e.Source != "scheduler" || !e.Timestamp.Equal(clk.Now()) || e.Namespace != "default" || e.ID == "" {
		t.Fatalf("pod event wrong: %+v", e)
	}
	if m := byReason["NotReady"]; m == nil || m.InvolvedObject.Kind != "Minion" || m.Namespace != "default" {
		t.Fatalf("minion event wrong: %+v", m)
	}
}

func TestRecordDedupAndRateLimit(t *testing.T) {
	st := memory.New()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := New(st, Config{Source: "s", Clock: clk, QPS: 1, Burst: 3, DedupWindow: time.Minute})
	ctx := context.Background()
	pod := &api.Pod{TypeMeta: api.TypeMeta{ID: "p", Namespace: "default"}}
	for i := 0; i < 5; i++ {
		r.Record(ctx, pod, "failedScheduling", "same")
	}
	if n := len(events(t, st)); n != 1 {
		t.Fatalf("dedup: %d events, want 1", n)
	}
	for _, msg := range []string{"a", "b", "c", "d"} {
		r.Record(ctx, pod, "x", msg)
	}
	if n := len(events(t, st)); n != 3 {
		t.Fatalf("rate limit: %d events, want 3 (burst)", n)
	}
	clk.Step(2 * time.Second) // two tokens
	r.Record(ctx, pod, "x", "e")
	r.Record(ctx, pod, "x", "f")
	r.Record(ctx, pod, "x", "g")
	if n := len(events(t, st)); n != 5 {
		t.Fatalf("after refill: %d events, want 5", n)
	}
	clk.Step(2 * time.Minute)
	r.Record(ctx, pod, "failedScheduling", "same")
	if n := len(events(t, st)); n != 6 {
		t.Fatalf("after the dedup window: %d events, want 6", n)
	}
}

// BenchmarkRecordBurst: a burst of distinct events (a scheduler binding
// thousands of pods) past the bucket's burst: almost all are dropped.
func BenchmarkRecordBurst(b *testing.B) {
	st := memory.New()
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	r := New(st, Config{Source: "scheduler", Clock: clk})
	ctx := context.Background()
	pods := make([]*api.Pod, 10000)
	for i := range pods {
		pods[i] = &api.Pod{TypeMeta: api.TypeMeta{ID: fmt.Sprintf("p%05d", i), Namespace: "default"}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pods[i%len(pods)]
		r.Record(ctx, p, "scheduled", "Successfully assigned "+p.ID+" to m1")
	}
}
