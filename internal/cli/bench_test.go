package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSwarmSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
		err  bool
	}{
		{in: "", want: nil},
		{in: "  ", want: nil},
		{in: "50", want: []int{50}},
		{in: "10, 50,100", want: []int{10, 50, 100}},
		{in: "500", want: []int{500}},
		{in: "0", err: true},
		{in: "501", err: true},
		{in: "-3", err: true},
		{in: "ten", err: true},
		{in: "10,,50", err: true},
		{in: "2.5", err: true},
	} {
		got, err := parseSwarmSizes(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseSwarmSizes(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("parseSwarmSizes(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// TestStartCPUProfile: a profile is written while it runs and flushed by
// stop; a file that cannot be created is an error naming it, and no
// profile is left running.
func TestStartCPUProfile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cpu.pprof")
	stop, err := startCPUProfile(file)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b { // a profile is gzipped
		t.Fatalf("not a profile: %d bytes %q", len(data), data[:min(len(data), 8)])
	}
	if _, err := startCPUProfile(filepath.Join(t.TempDir(), "missing", "cpu.pprof")); err == nil || !strings.Contains(err.Error(), "cpu profile") {
		t.Fatalf("want an error about the cpu profile, got %v", err)
	}
	// Nothing left running: a new profile starts.
	stop, err = startCPUProfile(file)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	noop, err := startCPUProfile("")
	if err != nil {
		t.Fatal(err)
	}
	noop()
}
