package proxy

import (
	"errors"
	"testing"
	"time"

	"kubelite/internal/clock"
)

func svcWith(name string, affinity bool, eps ...endpoint) service {
	return service{Name: name, PortalIP: "10.254.0.1", Port: 80, Protocol: "tcp", Affinity: affinity, Endpoints: eps}
}

var (
	e1 = endpoint{"10.244.1.1", 80}
	e2 = endpoint{"10.244.1.2", 80}
	e3 = endpoint{"10.244.1.3", 80}
)

func TestBalancer(t *testing.T) {
	type step struct {
		update  []service     // if set, call update first
		advance time.Duration // move the clock first
		fail    string        // report a failed dial of client to this endpoint
		client  string
		want    string // "" = errNoEndpoints
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"round robin", []step{
			{update: []service{svcWith("a", false, e1, e2, e3)}, client: "c", want: e1.String()},
			{client: "c", want: e2.String()},
			{client: "d", want: e3.String()},
			{client: "c", want: e1.String()},
		}},
		{"index restarts when endpoints change", []step{
			{update: []service{svcWith("a", false, e1, e2)}, client: "c", want: e1.String()},
			{update: []service{svcWith("a", false, e1, e2, e3)}, client: "c", want: e1.String()},
			{client: "c", want: e2.String()},
			{update: []service{svcWith("a", false, e1, e2, e3)}, client: "c", want: e3.String()}, // same set: keeps going
		}},
		{"no endpoints", []step{
			{update: []service{svcWith("a", false)}, client: "c", want: ""},
		}},
		{"unknown service", []step{
			{update: []service{svcWith("b", false, e1)}, client: "c", want: ""},
		}},
		{"affinity sticks per client", []step{
			{update: []service{svcWith("a", true, e1, e2, e3)}, client: "c", want: e1.String()},
			{client: "d", want: e2.String()},
			{client: "c", want: e1.String()},
			{client: "c", want: e1.String()},
			{client: "d", want: e2.String()},
			{client: "f", want: e3.String()},
		}},
		{"affinity expires", []step{
			{update: []service{svcWith("a", true, e1, e2)}, client: "c", want: e1.String()},
			{advance: 2 * time.Hour, client: "c", want: e1.String()}, // within 3h of last use
			{advance: 3*time.Hour + time.Second, client: "c", want: e2.String()},
		}},
		{"affinity dropped when endpoint removed", []step{
			{update: []service{svcWith("a", true, e1, e2)}, client: "c", want: e1.String()},
			{update: []service{svcWith("a", true, e2, e3)}, client: "c", want: e2.String()},
			{client: "c", want: e2.String()},
		}},
		{"failed dial unsticks", []step{
			{update: []service{svcWith("a", true, e1, e2)}, client: "c", want: e1.String()},
			{fail: e1.String(), client: "c", want: e2.String()},
			{client: "c", want: e2.String()},
		}},
		{"affinity off forgets clients", []step{
			{update: []service{svcWith("a", true, e1, e2)}, client: "c", want: e1.String()},
			{update: []service{svcWith("a", false, e1, e2)}, client: "c", want: e2.String()},
			{client: "c", want: e1.String()},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := clock.NewFake(time.Date(2014, 12, 1, 0, 0, 0, 0, time.UTC))
			b := newBalancer(clk, DefaultAffinityTimeout)
			for i, s := range tc.steps {
				if s.update != nil {
					b.update(s.update)
				}
				clk.Step(s.advance)
				if s.fail != "" {
					b.failed("a", s.client, s.fail)
				}
				got, err := b.next("a", s.client)
				if s.want == "" {
					if !errors.Is(err, errNoEndpoints) {
						t.Fatalf("step %d: got %q, %v; want errNoEndpoints", i, got, err)
					}
					continue
				}
				if err != nil || got != s.want {
					t.Fatalf("step %d: got %q, %v; want %q", i, got, err, s.want)
				}
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": ModeIptables, "iptables": ModeIptables, "userspace": ModeUserspace, "none": ModeNone} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseMode("ipvs"); err == nil {
		t.Errorf("ParseMode(ipvs): no error")
	}
	if _, err := New(Config{Mode: ModeIptables}); err == nil {
		t.Errorf("New without store and netfilter: no error")
	}
	if _, err := New(Config{Mode: ModeNone}); err != nil {
		t.Errorf("New in mode none needs nothing: %v", err)
	}
}
