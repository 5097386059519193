package workqueue

import (
	"testing"
	"time"

	"kubelite/internal/clock"
)

func TestDedupAndRequeueWhileProcessing(t *testing.T) {
	q := New(clock.NewFake(time.Unix(0, 0)), time.Second, time.Minute)
	q.Add("a")
	q.Add("a")
	q.Add("b")
	if q.Len() != 2 {
		t.Fatalf("len %d, want 2", q.Len())
	}
	k, _ := q.Get()
	if k != "a" {
		t.Fatalf("got %q", k)
	}
	q.Add("a") // while processing: not handed out twice
	if k2, _ := q.Get(); k2 != "b" {
		t.Fatalf("got %q, want b", k2)
	}
	if q.Len() != 0 {
		t.Fatalf("a was queued while processing")
	}
	q.Done("a")
	if k3, _ := q.Get(); k3 != "a" {
		t.Fatalf("a not requeued after Done, got %q", k3)
	}
}

func TestBackoff(t *testing.T) {
	cases := []struct {
		failures int
		want     time.Duration
	}{{0, time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {6, 60 * time.Second}, {20, 60 * time.Second}}
	for _, tc := range cases {
		q := New(clock.NewFake(time.Unix(0, 0)), time.Second, time.Minute)
		for i := 0; i < tc.failures; i++ {
			q.When("k")
		}
		if got := q.When("k"); got != tc.want {
			t.Errorf("after %d failures: %v, want %v", tc.failures, got, tc.want)
		}
	}
}

func TestAddRateLimitedFiresOnFakeClock(t *testing.T) {
	fc := clock.NewFake(time.Unix(0, 0))
	q := New(fc, time.Second, time.Minute)
	q.AddRateLimited("k")
	for fc.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	if q.Len() != 0 {
		t.Fatal("queued before its backoff")
	}
	fc.Step(time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for q.Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not queued after its backoff passed")
		}
		time.Sleep(time.Millisecond)
	}
}
