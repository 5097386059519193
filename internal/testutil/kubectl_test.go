package testutil

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestFindKubectls(t *testing.T) {
	for _, tc := range []struct {
		name           string
		files          []string // beside the real kubectl
		all, extremes  []string // relative to the real kubectl's directory; "kubectl" is the PATH entry
		throughSymlink bool
	}{
		{name: "none beside", files: nil, all: []string{"@kubectl"}, extremes: []string{"@kubectl"}},
		{name: "one beside", files: []string{"kubectl.1.30"}, all: []string{"@kubectl", "kubectl.1.30"}, extremes: []string{"kubectl.1.30"}},
		{
			name:  "numeric order, junk left out",
			files: []string{"kubectl.1.33", "kubectl.1.9", "kubectl.1.27", "kubectl.1.x", "kubectl.1.30.bak"},
			all:   []string{"@kubectl", "kubectl.1.9", "kubectl.1.27", "kubectl.1.33"}, extremes: []string{"kubectl.1.9", "kubectl.1.33"},
		},
		{
			name: "beside the symlink's target", throughSymlink: true,
			files: []string{"kubectl.1.28", "kubectl.1.27"},
			all:   []string{"@kubectl", "kubectl.1.27", "kubectl.1.28"}, extremes: []string{"kubectl.1.27", "kubectl.1.28"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			realDir := t.TempDir()
			for _, f := range append([]string{"kubectl"}, tc.files...) {
				if err := os.WriteFile(filepath.Join(realDir, f), []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			onPath := filepath.Join(realDir, "kubectl")
			if tc.throughSymlink {
				onPath = filepath.Join(t.TempDir(), "kubectl")
				if err := os.Symlink(filepath.Join(realDir, "kubectl"), onPath); err != nil {
					t.Fatal(err)
				}
				// A versioned file beside the symlink is not looked at.
				if err := os.WriteFile(filepath.Join(filepath.Dir(onPath), "kubectl.1.99"), nil, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			abs := func(names []string) []string {
				var out []string
				for _, n := range names {
					if n == "@kubectl" {
						out = append(out, onPath)
					} else {
						out = append(out, filepath.Join(realDir, n))
					}
				}
				return out
			}
			k, err := FindKubectls(onPath)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := k.All(), abs(tc.all); !reflect.DeepEqual(got, want) {
				t.Errorf("All() = %v, want %v", got, want)
			}
			if got, want := k.OldestNewest(), abs(tc.extremes); !reflect.DeepEqual(got, want) {
				t.Errorf("OldestNewest() = %v, want %v", got, want)
			}
		})
	}
}

func TestFindKubectlsErrors(t *testing.T) {
	if _, err := FindKubectls(""); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := FindKubectls(filepath.Join(t.TempDir(), "absent", "kubectl")); err == nil {
		t.Error("a kubectl that does not exist was accepted")
	}
}
