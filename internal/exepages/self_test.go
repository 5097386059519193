package exepages

import (
	_ "embed"
	"encoding/binary"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// written is in the executable's writable data, changed at run time: the
// page holding it is this process's own copy, which Release must keep.
var written = [2]int{1, 2}

// rodata is 256 KiB of the executable's read-only data that only this
// test reads: its pages are mapped while it reads them and, once
// released, until it reads them again (but for its ends, which share
// the kernel's 64 KiB of fault-around with data the runtime reads).
//
//go:embed testdata/rodata.txt
var rodata string

// TestReleaseSelf releases this test binary's pages: what nothing runs or
// reads again is no longer mapped, what is read again is mapped again with
// the same contents, and what the process wrote stays.
func TestReleaseSelf(t *testing.T) {
	written[0] = 42
	want := strings.Count(rodata, "\n")
	if want == 0 {
		t.Fatal("testdata/rodata.txt is empty")
	}
	if n := mapped(t, rodata); n == 0 {
		t.Fatal("read-only data just read is not mapped: pagemap cannot be read here")
	}
	res, err := Release(Self())
	if err != nil || res.Skipped != "" || res.Ranges < 2 {
		t.Fatalf("Release = %+v, %v; want the text and the read-only data released", res, err)
	}
	if n := mapped(t, rodata); n != 0 {
		t.Errorf("%d pages of read-only data nothing read since are still mapped after Release", n)
	}
	if got := strings.Count(rodata, "\n"); got != want {
		t.Errorf("read-only data read again: %d lines, want %d", got, want)
	}
	if n := mapped(t, rodata); n == 0 {
		t.Errorf("read-only data read again is not mapped")
	}
	if written[0] != 42 || written[1] != 2 {
		t.Fatalf("the executable's writable data was reset: %v", written)
	}
}

// mapped counts the pages of s's 64 KiB-aligned interior (the kernel's
// fault-around maps 64 KiB windows, and s shares the windows at its ends)
// that this process's page table maps (/proc/self/pagemap, bit 63:
// present; readable without privileges).
func mapped(t *testing.T, s string) int {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const page, window = 4096, 64 << 10
	start := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	first, end := (start+window-1)/window*window/page, (start+uintptr(len(s)))/window*window/page
	if end <= first {
		t.Fatalf("%d bytes at %x hold no whole 64 KiB window", len(s), start)
	}
	buf := make([]byte, 8*(end-first))
	if _, err := f.ReadAt(buf, int64(first*8)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; i < len(buf); i += 8 {
		if binary.LittleEndian.Uint64(buf[i:])&(1<<63) != 0 {
			n++
		}
	}
	return n
}
