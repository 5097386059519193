package httpserve

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	type step struct {
		at   time.Duration // since t0
		key  string
		ok   bool
		wait time.Duration // when !ok
	}
	tests := []struct {
		name  string
		rate  float64
		steps []step
	}{
		{"burst is twice the rate", 2, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0}, {0, "a", true, 0},
			{0, "a", false, 500 * time.Millisecond},
		}},
		{"clients are apart", 1, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, time.Second},
			{0, "b", true, 0}, {0, "b", true, 0}, {0, "b", false, time.Second},
		}},
		{"refills with time, never above burst", 1, []step{
			{0, "a", true, 0}, {0, "a", true, 0}, {0, "a", false, time.Second},
			{500 * time.Millisecond, "a", false, 500 * time.Millisecond},
			{time.Second, "a", true, 0}, {time.Second, "a", false, time.Second},
			{time.Hour, "a", true, 0}, {time.Hour, "a", true, 0}, {time.Hour, "a", false, time.Second},
		}},
		{"slow rate: burst at least 1", 0.25, []step{
			{0, "a", true, 0}, {0, "a", false, 4 * time.Second},
			{3 * time.Second, "a", false, time.Second},
			{4 * time.Second, "a", true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuckets(tt.rate)
			for i, s := range tt.steps {
				ok, wait := b.take(s.key, t0.Add(s.at))
				if ok != s.ok || (!ok && (wait-s.wait).Abs() > time.Millisecond) {
					t.Fatalf("step %d (%v, %s): got ok=%v wait=%v, want ok=%v wait=%v", i, s.at, s.key, ok, wait, s.ok, s.wait)
				}
			}
		})
	}
}

func TestBucketsForgetIdleClients(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	b := newBuckets(1)
	for i := 0; i < minSweep; i++ {
		b.take(fmt.Sprint("old", i), t0)
	}
	if got := b.size(); got != minSweep {
		t.Fatalf("size %d, want %d", got, minSweep)
	}
	// Much later, a new client triggers the sweep: the old buckets are full.
	b.take("new", t0.Add(time.Minute))
	if got := b.size(); got != 1 {
		t.Fatalf("after sweep: size %d, want 1", got)
	}
	// A client still short of tokens is kept.
	b.take("busy", t0.Add(time.Minute))
	b.take("busy", t0.Add(time.Minute))
	if ok, _ := b.take("busy", t0.Add(time.Minute)); ok {
		t.Fatal("busy client got a third token at once")
	}
}

func TestKeyedSlots(t *testing.T) {
	k := newKeyedSlots(2)
	for i, want := range []bool{true, true, false} {
		if got := k.take("a"); got != want {
			t.Fatalf("take a #%d = %v, want %v", i, got, want)
		}
	}
	if !k.take("b") {
		t.Fatal("b refused while a is full")
	}
	k.release("a")
	if !k.take("a") {
		t.Fatal("a refused after a release")
	}
	k.release("a")
	k.release("a")
	k.release("b")
	if n := len(k.n); n != 0 {
		t.Fatalf("%d keys left after all releases", n)
	}
}

func TestSlots(t *testing.T) {
	s := &slots{max: 1}
	if !s.take() || s.take() {
		t.Fatal("want one slot exactly")
	}
	s.release()
	if !s.take() {
		t.Fatal("slot not given back")
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		wait time.Duration
		want int
	}{
		{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {4 * time.Second, 4},
	} {
		if got := retryAfter(tt.wait); got != tt.want {
			t.Errorf("retryAfter(%v) = %d, want %d", tt.wait, got, tt.want)
		}
	}
}

func TestJittered(t *testing.T) {
	for _, tt := range []struct {
		r    float64
		want time.Duration
	}{
		{0, 27 * time.Minute}, {0.5, 30 * time.Minute}, {0.999999, 33 * time.Minute},
	} {
		if got := jittered(30*time.Minute, tt.r); (got - tt.want).Abs() > 10*time.Millisecond {
			t.Errorf("jittered(30m, %v) = %v, want %v", tt.r, got, tt.want)
		}
	}
}

func TestDefaultMaxConns(t *testing.T) {
	for _, tt := range []struct {
		limit uint64
		want  int
	}{
		{0, 20000}, {1024, 409}, {20000, 8000}, {1 << 20, 20000}, {10, 64},
	} {
		if got := defaultMaxConns(tt.limit); got != tt.want {
			t.Errorf("defaultMaxConns(%d) = %d, want %d", tt.limit, got, tt.want)
		}
	}
}

func TestDefaultLongRunning(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want bool
	}{
		{"/api/v1beta1/pods", false},
		{"/api/v1beta1/pods?watch=true", true},
		{"/api/v1beta1/pods?watch=1", true},
		{"/api/v1beta1/pods?watch=false", false},
		{"/api/v1beta1/watch/pods", true},
		{"/api/v1beta1/watch", true},
		{"/api/v1beta1/pods/watcher", false},
		{"/containerLogs/default/p/c?follow=true", true},
		{"/containerLogs/default/p/c?tail=10", false},
		{"/api/v1beta1/pods?namespace=default", false},
		{"/api/v1beta1/pods?namespace=default&w%61tch=true", true}, // escaped: parsed
		{"/containerLogs/default/p/c?f%6Fllow=1", true},
		{"/api/v1beta1/pods?namespace=a+b&watch=0", false},
	} {
		r := httptest.NewRequest("GET", tt.url, nil)
		if got := DefaultLongRunning(r); got != tt.want {
			t.Errorf("DefaultLongRunning(%s) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

func TestRemoteIP(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[::1]:5555"
	if got := RemoteIP(r); got != "::1" {
		t.Errorf("RemoteIP = %q", got)
	}
	r.RemoteAddr = "10.0.0.1:80"
	if got := RemoteIP(r); got != "10.0.0.1" {
		t.Errorf("RemoteIP = %q", got)
	}
}
