package roles

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/bench"
	"kubelite/internal/store"
	"kubelite/internal/testutil"
)

// TestBenchQuickSubset runs `kubelite bench --quick --only api-read,reschedule`
// through bench.Run on BenchEnv: real masters (embedded etcd, API, scheduler,
// controllers) and a hollow fleet. CI runs the whole --quick separately.
func TestBenchQuickSubset(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts masters and a hollow fleet")
	}
	// A bound on a hung run: the quick subset took over 2 minutes under
	// make test with both cores kept busy.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	var progress bytes.Buffer
	r, err := bench.Run(ctx, &BenchEnv{TempDir: tmp}, bench.Options{Quick: true, Only: []string{"api-read", "reschedule"}}, &progress)
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, progress.String())
	}
	want := map[string]bool{"api-read": false, "reschedule": false}
	for _, f := range r.Figures {
		want[f.Scenario] = true
		if !(f.Median > 0) || f.Runs == 0 || f.Min > f.Median || f.Median > f.Max {
			t.Errorf("%s %s: median %v (%v..%v) over %d runs", f.Scenario, f.Name, f.Median, f.Min, f.Max, f.Runs)
		}
	}
	for sc, seen := range want {
		if !seen {
			t.Errorf("no figures of %s", sc)
		}
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "list 1,000 pods p99") {
		t.Errorf("table lacks the list figure:\n%s", table.String())
	}
	t.Logf("\n%s", table.String())
	left, err := os.ReadDir(tmp)
	if err != nil || len(left) != 0 {
		t.Errorf("masters left %d entries in their temp dir (%v)", len(left), err)
	}
}

// TestBenchFleetStop: a stopped hollow minion stops heartbeating; the node
// controller marks it NotReady after the grace period while the others stay
// Ready.
func TestBenchFleetStop(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a master")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := &BenchEnv{TempDir: t.TempDir()}
	m, err := env.StartMaster(ctx, bench.MasterOptions{Controllers: true, NodeGrace: time.Second, PodEviction: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	f, err := m.Hollow(ctx, "h", 3)
	if err != nil {
		t.Fatal(err)
	}
	f.Stop("h-1")
	testutil.Eventually(t, 20*time.Second, func() error {
		ready := map[string]bool{}
		ms, _, err := m.Store().List(ctx, api.Minions, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, o := range ms {
			ready[o.Meta().ID] = o.(*api.Minion).Status.Condition == api.MinionReady
		}
		if len(ready) == 3 && ready["h-0"] && !ready["h-1"] && ready["h-2"] {
			return nil
		}
		return fmt.Errorf("got %v", ready)
	}, "h-1 NotReady and h-0, h-2 Ready")
}
