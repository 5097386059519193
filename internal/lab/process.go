package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is a long-running process the lab started inside a host's network
// namespace, with its output appended to a log file.
type Process struct {
	Host    *Host
	Name    string
	Argv    []string // the command as given, without the nsenter prefix
	LogPath string
	env     []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{} // closed when the current run has exited
	err    error         // its exit status
	paused bool
}

// start runs the process (again), appending to its log.
func (p *Process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s on %s: %w", p.Name, p.Host.Name, err)
	}
	fmt.Fprintf(f, "=== %s lab: start %s\n", time.Now().UTC().Format(time.RFC3339Nano), strings.Join(p.Argv, " "))
	argv := p.Host.nsenter(p.Argv)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), p.env...)
	// Own process group: a Ctrl-C meant for the test does not reach the
	// lab's processes half-way; Cleanup finds and stops them by name.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s on %s: %w", p.Name, p.Host.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.err, p.paused = cmd, done, nil, false
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "=== %s lab: exit %v\n", time.Now().UTC().Format(time.RFC3339Nano), err)
		f.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// Pid is the process id of the current run (nsenter execs the command, so it
// is the command's own pid).
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Exited reports whether the current run has ended, and how.
func (p *Process) Exited() (bool, error) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.err
	default:
		return false, nil
	}
}

// Wait waits for the current run to end or ctx to be done.
func (p *Process) Wait(ctx context.Context) error {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-ctx.Done():
		return fmt.Errorf("wait for %s on %s: %w", p.Name, p.Host.Name, ctx.Err())
	}
}

func (p *Process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	select {
	case <-done:
		return nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s on %s: %w", p.Name, p.Host.Name, err)
	}
	return nil
}

// Kill ends the process with SIGKILL (a crash, not a shutdown) and waits for it.
func (p *Process) Kill() error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	_ = p.signal(syscall.SIGCONT) // a stopped process dies only once continued
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}

// Stop asks the process to end with SIGTERM and waits up to timeout before
// killing it.
func (p *Process) Stop(timeout time.Duration) error {
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	_ = p.signal(syscall.SIGCONT)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := p.Wait(ctx); err == nil || ctx.Err() == nil {
		return nil
	}
	return p.Kill()
}

// Pause stops the process with SIGSTOP, as a hung host would; Resume continues it.
// Pause returns once the process is stopped.
func (p *Process) Pause() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	err := stopAll(func() []int {
		select {
		case <-done:
			return nil
		default:
			return []int{cmd.Process.Pid}
		}
	}, stopTimeout)
	if err != nil {
		return fmt.Errorf("pause %s on %s: %w", p.Name, p.Host.Name, err)
	}
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
	return nil
}

// Resume continues a paused process with SIGCONT.
func (p *Process) Resume() error {
	if err := p.signal(syscall.SIGCONT); err != nil {
		return err
	}
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
	return nil
}

// Paused reports whether the process was paused and not resumed since.
func (p *Process) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused
}

// Restart kills the process if it still runs and starts it again with the same
// command; its log continues in the same file.
func (p *Process) Restart() error {
	if err := p.Kill(); err != nil {
		return err
	}
	return p.start()
}

// Tail returns the last n lines of the process's log (all runs), for failure dumps.
func (p *Process) Tail(n int) []string { return tailFile(p.LogPath, n) }

// tailFile returns the last n lines of a file, reading at most its last 256 KiB.
func tailFile(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return []string{fmt.Sprintf("(no log: %v)", err)}
	}
	defer f.Close()
	const max = 256 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return lastLines(b, n)
}

// lastLines returns the last n non-empty-terminated lines of b.
func lastLines(b []byte, n int) []string {
	lines := strings.Split(string(bytes.TrimRight(b, "\n")), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}
