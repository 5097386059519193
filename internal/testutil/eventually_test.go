package testutil

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recordingTB records Fatalf instead of failing the real test.
type recordingTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordingTB) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with a recording TB in a goroutine of its own (Fatalf ends it).
func run(t *testing.T, f func(tb testing.TB)) string {
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
	if r.skip != "" {
		return "SKIP " + r.skip
	}
	return r.fatal
}

// TestUnitTierSkipsSystemTests: under KUBELITE_UNIT=1 every Require* skips,
// even when the requirement is met (root here, when run as root).
func TestUnitTierSkipsSystemTests(t *testing.T) {
	t.Setenv(UnitEnv, "1")
	for name, f := range map[string]func(testing.TB){
		"root": RequireRoot, "docker": RequireDocker, "a network namespace": RequireNetns,
	} {
		got := run(t, f)
		if want := "SKIP system test (needs " + name + "): not in the unit tier"; !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q...", name, got, want)
		}
	}
}

func TestEventually(t *testing.T) {
	cases := []struct {
		name  string
		call  func(tb testing.TB)
		fatal string // substring; "" means it passed
	}{
		{"bool true at once", func(tb testing.TB) {
			Eventually(tb, time.Second, func() bool { return true }, "x")
		}, ""},
		{"bool true on the fifth poll", func(tb testing.TB) {
			var n atomic.Int32
			Eventually(tb, 5*time.Second, func() bool { return n.Add(1) == 5 }, "x")
		}, ""},
		{"error nil later", func(tb testing.TB) {
			var n atomic.Int32
			Eventually(tb, 5*time.Second, func() error {
				if n.Add(1) < 3 {
					return errors.New("early")
				}
				return nil
			}, "x")
		}, ""},
		{"bool never", func(tb testing.TB) {
			Eventually(tb, 20*time.Millisecond, func() bool { return false }, "pods %d", 3)
		}, "not within 20ms: pods 3"},
		{"error never: last error reported", func(tb testing.TB) {
			Eventually(tb, 20*time.Millisecond, func() error { return errors.New("still 2") }, "pods")
		}, "not within 20ms: pods: still 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.call)
			if tc.fatal == "" && got != "" {
				t.Fatalf("failed: %s", got)
			}
			if tc.fatal != "" && !strings.Contains(got, tc.fatal) {
				t.Fatalf("fatal %q, want it to contain %q", got, tc.fatal)
			}
		})
	}
}
