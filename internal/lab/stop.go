package lab

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// SIGSTOP is asynchronous: kill(2) returns once the signal is queued, and a
// thread of the target that the kernel had not yet scheduled may still accept
// a connection and answer it before the group stop reaches it (seen in CI: the
// engine of a just-paused host answered its ping). A pause is only a pause
// once every thread of every process is in the stopped state, so the lab
// signals and then waits for that.

// stopTimeout bounds how long a pause waits for its processes to stop.
const stopTimeout = 10 * time.Second

// statState returns the state letter of a /proc/PID/stat or
// /proc/PID/task/TID/stat line: it follows the last ')' (the command name
// may hold spaces and parentheses). ok is false for a malformed line.
func statState(line string) (state byte, ok bool) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 || i+2 >= len(line) || line[i+1] != ' ' {
		return 0, false
	}
	return line[i+2], true
}

// settled reports whether a task in state s can no longer run user code:
// stopped (T), traced (t), a zombie (Z) or dead (X).
func settled(s byte) bool { return s == 'T' || s == 't' || s == 'Z' || s == 'X' }

// stopped reports whether every thread of process pid is settled; a process
// that is gone counts as stopped.
func stopped(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return true // gone
	}
	for _, e := range ents {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/stat")
		if err != nil {
			continue // the thread ended
		}
		if s, ok := statState(string(b)); ok && !settled(s) {
			return false
		}
	}
	return true
}

// stopAll sends SIGSTOP to the processes list returns, again and again, until
// one pass finds every one of them stopped, or timeout passes. Listing again
// catches a process forked between a list and the signals.
func stopAll(list func() []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var running []int
		for _, pid := range list() {
			if !stopped(pid) {
				running = append(running, pid)
			}
		}
		if len(running) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still running after %s: pids %v", timeout, running)
		}
		var errs []error
		for _, pid := range running {
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("stop pid %d: %w", pid, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return err
		}
		time.Sleep(2 * time.Millisecond) // polling /proc: the kernel offers no wait for a stop of a non-child
	}
}
