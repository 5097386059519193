package lab

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestStatState(t *testing.T) {
	for _, tc := range []struct {
		line  string
		state byte
		ok    bool
	}{
		{"123 (dockerd) S 1 123 123 0", 'S', true},
		{"123 (a (b) c) T 1 123", 'T', true},
		{"123 (x) R", 'R', true},
		{"123 (x)", 0, false},
		{"123 x S", 0, false},
		{"", 0, false},
	} {
		s, ok := statState(tc.line)
		if s != tc.state || ok != tc.ok {
			t.Errorf("statState(%q) = %q, %v; want %q, %v", tc.line, s, ok, tc.state, tc.ok)
		}
	}
}

// TestStopAllWaitsForTheStop stops busy processes (a shell loop and its
// threads never block, so only the group stop ends them) and checks that
// every thread is stopped when stopAll returns.
func TestStopAllWaitsForTheStop(t *testing.T) {
	var pids []int
	for i := 0; i < 3; i++ {
		cmd := exec.Command("sh", "-c", "while :; do :; done")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGCONT)
			_ = cmd.Wait()
		})
		pids = append(pids, cmd.Process.Pid)
	}
	for _, pid := range pids {
		if stopped(pid) {
			t.Fatalf("pid %d stopped before any signal", pid)
		}
	}
	if err := stopAll(func() []int { return pids }, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if !stopped(pid) {
			t.Errorf("pid %d still running after stopAll", pid)
		}
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	for _, pid := range pids {
		if stopped(pid) {
			// SIGCONT takes effect at once for a stopped task (no scheduling needed).
			t.Errorf("pid %d still stopped after SIGCONT", pid)
		}
	}
}

func TestStopAllGivesUp(t *testing.T) {
	// The kernel never delivers SIGSTOP to its pid namespace's init (pid 1
	// has no handler for it, and cannot have one), so it never stops.
	if err := stopAll(func() []int { return []int{1} }, 50*time.Millisecond); err == nil {
		t.Fatal("stopAll of pid 1 returned nil")
	}
}
