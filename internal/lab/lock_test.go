package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLabLock: a lab name held by another open file (as by another
// process: flock belongs to the open file) blocks Up's and Cleanup's lock
// until it is released; the holder's pid is named; this process may take
// its own lock again.
func TestLabLock(t *testing.T) {
	lockDir = t.TempDir()
	t.Cleanup(func() { lockDir = "/run/kubelite-lab" })

	// Another holder.
	other, err := os.OpenFile(filepath.Join(lockDir, "busy.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := other.WriteString("4242\n"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lockLab(ctx, "busy"); err == nil || !strings.Contains(err.Error(), "in use by another process (pid 4242") {
		t.Fatalf("lock of a held lab: %v, want in use by pid 4242", err)
	}

	// Released by the other holder: taken, the file names this process.
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		unlock, err := lockLab(ctx, "busy")
		if err != nil {
			got <- err
			return
		}
		b, _ := os.ReadFile(filepath.Join(lockDir, "busy.lock"))
		if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
			err = fmt.Errorf("lock file names %q, want this pid", b)
		}
		// Taken again by this process: at once; its unlock keeps the lock.
		again, aerr := lockLab(ctx, "busy")
		if aerr != nil {
			err = aerr
		} else {
			again()
			if ferr := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); ferr == nil {
				err = fmt.Errorf("the second unlock released the lock")
			}
		}
		unlock()
		got <- err
	}()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	// The first unlock released it.
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("lock not released after unlock: %v", err)
	}
}
