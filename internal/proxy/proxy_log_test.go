package proxy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/logging"
	"kubelite/internal/netfilter"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// A failed sync is a warning with what to check; the next good one says
// the rules recovered.
func TestSyncFailureWarnedThenRecovered(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 4, 16, 54, 3, 0, time.UTC))
	l, buf := logging.Capture(t, logging.Text)
	l.SetLevel(logrus.InfoLevel)
	fake := netfilter.NewFake()
	fake.RestoreErr = errors.New("iptables-restore: exit status 2")
	p, err := New(Config{Store: memory.New(), Mode: ModeIptables, Netfilter: fake, Clock: clk, Log: l.WithField("component", "proxy")})
	if err != nil {
		t.Fatal(err)
	}
	// Empty caches, never run: the sync writes the base chains only.
	p.svcs = store.NewInformer(memory.New(), api.Services, store.ListOptions{}, nil)
	p.eps = store.NewInformer(memory.New(), api.EndpointsResource, store.ListOptions{}, nil)
	p.syncAndReport(true)
	clk.Step(1500 * time.Millisecond)
	p.syncAndReport(true)
	lines := buf.Lines()
	want := []string{
		`level=warning msg="sync the service rules failed: `,
		`level=info msg="sync the service rules recovered after 1.5s (1 failure)" component=proxy mode=iptables`,
	}
	if len(lines) != len(want) {
		t.Fatalf("lines:\n%s\nwant %d", buf, len(want))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d:\n%s\nwant it to hold\n%s", i, lines[i], w)
		}
	}
	if !strings.Contains(lines[0], "exit status 2") || !strings.Contains(lines[0], "check: iptables-restore on this host") {
		t.Errorf("warning %s: want the error and what to check", lines[0])
	}
}
