package etcd_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kubelite/internal/etcd"
)

// TestLockDataDirHelperProcess is the other process of TestLockDataDir:
// it holds the lock until its stdin closes.
func TestLockDataDirHelperProcess(t *testing.T) {
	dir := os.Getenv("KUBELITE_LOCK_HELPER_DIR")
	if dir == "" {
		return // not run as the helper
	}
	release, err := etcd.LockDataDir(dir)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("locked")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	release()
	os.Exit(0)
}

// TestLockDataDir: a second process on a data dir in use fails at once,
// naming the first; once the first ends the dir is free again.
func TestLockDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockDataDirHelperProcess$")
	cmd.Env = append(os.Environ(), "KUBELITE_LOCK_HELPER_DIR="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("helper: %q %v", line, err)
	}
	start := time.Now()
	_, err = etcd.LockDataDir(dir)
	took := time.Since(start)
	if err == nil {
		t.Fatal("a second process locked a data dir in use")
	}
	if want := "in use by process " + strconv.Itoa(cmd.Process.Pid); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("error %q does not name the dir and %q", err, want)
	}
	if took > time.Second {
		t.Fatalf("refusal took %s", took)
	}
	t.Logf("refused in %s: %v", took, err)
	if b, _ := os.ReadFile(filepath.Join(dir, etcd.LockFileName)); strings.TrimSpace(string(b)) != strconv.Itoa(cmd.Process.Pid) {
		t.Fatalf("lock file holds %q, want the holder's PID", b)
	}

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	release, err := etcd.LockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after the holder ended: %v", err)
	}
	defer release()
	if b, _ := os.ReadFile(filepath.Join(dir, etcd.LockFileName)); strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Fatalf("lock file holds %q, want this PID", b)
	}
	// Within one process a second lock of the same dir fails too.
	if _, err := etcd.LockDataDir(dir); err == nil || !strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Fatalf("second lock in one process: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v %v, want 0700", fi.Mode().Perm(), err)
	}
}
