package logging

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"kubelite/internal/clock"
)

var t0 = time.Date(2026, 12, 4, 16, 54, 3, 0, time.UTC)

// TestRepeaterSchedule fails every 100 ms for a while and checks when the
// warnings came, as offsets from the first failure.
func TestRepeaterSchedule(t *testing.T) {
	for _, tc := range []struct {
		name     string
		min, max time.Duration
		for_     time.Duration
		want     []time.Duration
	}{
		{"defaults", 0, 0, 70 * time.Second,
			[]time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second, 31 * time.Second, 63 * time.Second}},
		{"capped at 5s", 0, 5 * time.Second, 30 * time.Second,
			[]time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 12 * time.Second, 17 * time.Second, 22 * time.Second, 27 * time.Second}},
		{"2s up to 2s", 2 * time.Second, 2 * time.Second, 7 * time.Second,
			[]time.Duration{0, 2 * time.Second, 4 * time.Second, 6 * time.Second}},
		{"max below min", 3 * time.Second, time.Second, 10 * time.Second,
			[]time.Duration{0, 3 * time.Second, 9 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			l, b := Capture(t, JSON)
			r := NewRepeater(RepeaterConfig{Log: l.WithField("component", "test"), Clock: clk, What: "w", Min: tc.min, Max: tc.max})
			n := 0
			for d := time.Duration(0); d < tc.for_; d += 100 * time.Millisecond {
				clk.Step(100 * time.Millisecond)
				r.Fail(errors.New("boom"))
				n++
			}
			var got []time.Duration
			for _, line := range b.Lines() {
				var e struct{ Time, Level string }
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("line %s: %v", line, err)
				}
				if e.Level != "warning" {
					continue
				}
				at, err := time.Parse(TimeFormat, e.Time)
				if err != nil {
					t.Fatalf("line %s: %v", line, err)
				}
				got = append(got, at.Sub(t0.Add(100*time.Millisecond)))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("warnings at %v, want %v", got, tc.want)
			}
			if c, since := r.Failing(); c != n || !since.Equal(t0.Add(100*time.Millisecond)) {
				t.Errorf("Failing() = %d, %v; want %d, %v", c, since, n, t0.Add(100*time.Millisecond))
			}
			if len(b.Lines()) != n {
				t.Errorf("%d lines for %d failures (the quiet ones at debug): want one each", len(b.Lines()), n)
			}
		})
	}
}

// TestRepeaterGolden: the lines of two failure runs, each ending in a
// recovery, in both formats.
func TestRepeaterGolden(t *testing.T) {
	for _, f := range Formats {
		t.Run(string(f), func(t *testing.T) {
			clk := clock.NewFake(t0)
			var b Buffer
			l, err := New(&b, Options{Format: f}) // info: the quiet failures are not shown
			if err != nil {
				t.Fatal(err)
			}
			r := NewRepeater(RepeaterConfig{Log: l.WithField("component", "kubelet"), Clock: clk,
				What: "report status to the master https://192.168.1.200:8080", Hint: "is the master up? run kubelite doctor minion"})
			r.OK() // no failure yet: nothing
			refused := errors.New("dial tcp 192.168.1.200:8080: connect: connection refused")
			for range 12 {
				r.Fail(refused)
				clk.Step(700 * time.Millisecond)
			}
			r.OK()
			r.OK() // once only
			clk.Step(time.Hour)
			r.Fail(errors.New("context deadline exceeded"))
			clk.Step(1500 * time.Millisecond)
			r.Fail(nil)
			clk.Step(75 * time.Second)
			r.OK()
			if n, since := r.Failing(); n != 0 || !since.IsZero() {
				t.Errorf("Failing() after OK = %d, %v", n, since)
			}
			golden(t, "repeater-"+string(f)+".golden", b.String())
		})
	}
}

// BenchmarkRepeaterQuiet is the cost of a failure between two warnings at
// info level: what a retry loop pays per try.
func BenchmarkRepeaterQuiet(b *testing.B) {
	l, err := New(io.Discard, Options{})
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.NewFake(t0)
	r := NewRepeater(RepeaterConfig{Log: l.WithField("component", "test"), Clock: clk, What: "w", Max: time.Hour})
	boom := errors.New("boom")
	r.Fail(boom)
	b.ReportAllocs()
	for b.Loop() {
		r.Fail(boom)
	}
}
