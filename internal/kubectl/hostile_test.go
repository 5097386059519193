package kubectl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 17 item 6: `kubectl create -f /dev/zero` ran out of memory. A file
// whose size stat does not tell (a device, a pipe) is read only up to the
// cap, and refused fast with the reason.

func TestHostileEndlessFile(t *testing.T) {
	// A pipe that yields 8 MiB: stat says 0 bytes, as for /dev/zero, but the
	// test stays bounded even if the cap is missing.
	fifo := filepath.Join(t.TempDir(), "endless.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		_, _ = w.Write(bytes.Repeat([]byte(" "), 8<<20))
	}()
	_, err := readSources(fifo, nil)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("readSources(8 MiB pipe) = %v, want a 'larger than' error", err)
	}

	start := time.Now()
	_, err = readSources("/dev/zero", nil)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("readSources(/dev/zero) = %v, want a 'larger than' error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("refusing /dev/zero took %s", d)
	}
}
