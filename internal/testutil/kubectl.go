package testutil

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Kubectls are the real kubectl binaries of the machine: the kubectl on
// PATH (which may dispatch to a version of its own choosing) and the
// versioned binaries kubectl.1.NN beside its real path (the machine image
// ships 1.27 to 1.33 there), oldest minor first.
type Kubectls struct {
	// Path is the kubectl found on PATH, as found (not resolved).
	Path string
	// Versioned are the kubectl.1.NN files beside Path's real path,
	// sorted by minor version; names whose suffix is not a number are left out.
	Versioned []string
}

// All returns Path followed by every versioned kubectl.
func (k Kubectls) All() []string { return append([]string{k.Path}, k.Versioned...) }

// OldestNewest returns the oldest and the newest versioned kubectl (one
// when there is only one), or Path when there is none.
func (k Kubectls) OldestNewest() []string {
	switch len(k.Versioned) {
	case 0:
		return []string{k.Path}
	case 1:
		return []string{k.Versioned[0]}
	}
	return []string{k.Versioned[0], k.Versioned[len(k.Versioned)-1]}
}

// RealKubectls finds the real kubectl binaries (see Kubectls). With no
// kubectl on PATH it fails t, or skips it under KUBELITE_SKIP_SYSTEM=1.
// kubectl needs no root, so the unit tier runs these tests.
func RealKubectls(t testing.TB) Kubectls {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		missing(t, "kubectl not on PATH: %v", err)
	}
	k, err := FindKubectls(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// FindKubectls returns the Kubectls of the kubectl at path: path itself and
// the kubectl.1.NN files beside the file path resolves to.
func FindKubectls(path string) (Kubectls, error) {
	if path == "" {
		return Kubectls{}, errors.New("find kubectls: empty path")
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return Kubectls{}, fmt.Errorf("find kubectls beside %s: %w", path, err)
	}
	matches, err := filepath.Glob(filepath.Join(filepath.Dir(real), "kubectl.1.*"))
	if err != nil {
		return Kubectls{}, fmt.Errorf("find kubectls beside %s: %w", real, err)
	}
	type version struct {
		path  string
		minor int
	}
	var vs []version
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(m), "kubectl.1."))
		if err != nil || n < 0 {
			continue
		}
		vs = append(vs, version{m, n})
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].minor < vs[j].minor })
	k := Kubectls{Path: path}
	for _, v := range vs {
		k.Versioned = append(k.Versioned, v.path)
	}
	return k, nil
}
