package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// lockDir holds one lock file per lab name (<lockDir>/<name>.lock, beside,
// not inside, the lab's RunDir, which teardown removes).
var lockDir = "/run/kubelite-lab"

// held are the lab locks this process holds, by name.
var held = struct {
	sync.Mutex
	files map[string]*os.File
}{files: map[string]*os.File{}}

// lockLab takes the lock of the lab named name for this process: an
// exclusive flock on its lock file, which the kernel drops when the process
// exits, however it exits. While another process holds it, lockLab waits
// until ctx ends and then fails naming the holder's pid. A process that
// already holds the lock gets it again at once (Cleanup of a lab this
// process brought up); only the first taker's unlock releases it.
func lockLab(ctx context.Context, name string) (unlock func(), err error) {
	held.Lock()
	defer held.Unlock()
	if _, ok := held.files[name]; ok {
		return func() {}, nil
	}
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return nil, fmt.Errorf("lock lab %s: %w", name, err)
	}
	path := filepath.Join(lockDir, name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock lab %s: %w", name, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock lab %s: flock %s: %w", name, path, err)
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			holder, _ := os.ReadFile(path)
			f.Close()
			return nil, fmt.Errorf("lab %s is in use by another process (pid %s holds %s): %w",
				name, strings.TrimSpace(string(holder)), path, ctx.Err())
		}
	}
	// Name the holder for whoever waits next (best effort: the flock is the lock).
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	held.files[name] = f
	return func() {
		held.Lock()
		defer held.Unlock()
		if held.files[name] == f {
			delete(held.files, name)
			f.Close() // releases the flock
		}
	}, nil
}
