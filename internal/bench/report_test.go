package bench

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func sampleReport() *Report {
	api := NewFigure("api-write", "creates/s, 16 writers", "1/s", Sample{1091, 923.2, 1949}).WithPeer("raw etcd puts/s", Sample{3693, 3500, 4000})
	list := NewFigure("api-read", "list 1,000 pods p99", "ms", Sample{34.2, 22.5, 69.4})
	res := NewFigure("reschedule", "delete to replacement Running p99", "ms", Sample{12})
	return &Report{
		Date:    time.Date(2026, 11, 25, 22, 25, 0, 0, time.UTC),
		Command: "kubelite bench --no-docker",
		Machine: Machine{CPU: "AMD EPYC", Cores: 2, MemoryGB: "23.5 GiB", Kernel: "6.18", Go: "go1.26"},
		Figures: []Figure{
			api.WithTarget(">= 50% of raw etcd", api.Ratio >= 0.5),
			NewFigure("api-read", "get pod p50", "ms", Sample{0.276, 0.253, 0.297}),
			list.WithTarget("p99 < 20 ms", list.Median < 20),
			res.WithTarget("p99 < 1000 ms", res.Median < 1000),
		},
		Errors:   []string{"pod-startup: pod startup-0 not Running within 60s"},
		Left:     []string{"proxy (--no-docker)", "rules-sync (--no-docker)"},
		Duration: "13m52s",
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestReportGolden(t *testing.T) {
	r := sampleReport()
	var table, js bytes.Buffer
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", table.Bytes())
	golden(t, "report.json", js.Bytes())
}

func TestRunRejectsUnknownScenario(t *testing.T) {
	_, err := Run(t.Context(), nil, Options{Only: []string{"api-read", "nope"}}, &bytes.Buffer{})
	if err == nil || err.Error() != `unknown scenario "nope"` {
		t.Fatalf("got %v", err)
	}
}

func TestRunLeavesOutSystemScenariosOnlyWhenAsked(t *testing.T) {
	r, err := Run(t.Context(), nil, Options{NoDocker: true, Only: []string{"pod-startup", "proxy", "rules-sync"}}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Left) != 3 || len(r.Figures) != 0 {
		t.Errorf("left out %v, figures %v", r.Left, r.Figures)
	}
}
