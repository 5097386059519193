package hugepage

import (
	"errors"
	"io"
	"os"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

const mib = 1 << 20

// A listing of a static Go binary's mappings (cat /proc/PID/maps of a
// master), trimmed.
const sampleMaps = `00400000-01a4c000 r-xp 00000000 00:20 1234                               /usr/local/bin/kubelite
01a4c000-03268000 r--p 0164c000 00:20 1234                               /usr/local/bin/kubelite
03268000-032e0000 rw-p 02e68000 00:20 1234                               /usr/local/bin/kubelite
032e0000-03340000 rw-p 00000000 00:00 0
c000000000-c004000000 rw-p 00000000 00:00 0
c004000000-c008000000 ---p 00000000 00:00 0
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
7f0000200000-7f0000a00000 rw-s 00000000 00:01 77                         /dev/zero (deleted)
7f1000000000-7f1040000000 r--s 00000000 00:20 99                         /var/lib/kubelite/etcd/member/snap/db
7ffc00000000-7ffc00400000 rw-p 00000000 00:00 0                          [stack]
7ffd00001000-7ffd00401000 rw-p 00000000 00:00 0
`

func TestCandidates(t *testing.T) {
	got, err := Candidates(strings.NewReader(sampleMaps), 2*mib)
	if err != nil {
		t.Fatal(err)
	}
	want := []Range{
		{0xc000000000, 0xc004000000}, // the Go heap's first arena
		// 0x032e0000-0x03340000 (384 KiB) and 0x7f0000000000-+1 MiB hold no huge page;
		// 0x7ffd00001000-0x7ffd00401000 is 4 MiB but unaligned: one whole huge page inside
		{0x7ffd00001000, 0x7ffd00401000},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Candidates = %x, want %x", got, want)
	}
}

func TestCandidatesUnalignedTooSmall(t *testing.T) {
	// 2.5 MiB starting 1 MiB past a huge page's boundary holds none whole.
	got, err := Candidates(strings.NewReader("00100000-00380000 rw-p 00000000 00:00 0\n"), 2*mib)
	if err != nil || len(got) != 0 {
		t.Fatalf("Candidates = %x, %v; want none", got, err)
	}
}

// A listing procmaps cannot parse (its tests have the cases) is an error.
func TestCandidatesBadInput(t *testing.T) {
	in := sampleMaps + "c000000000-c004000000 rw-p\n"
	if got, err := Candidates(strings.NewReader(in), 2*mib); err == nil {
		t.Errorf("Candidates(a short line) = %x, want an error", got)
	}
}

func TestMode(t *testing.T) {
	for in, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never\n": "always",
		"always madvise [never]\n": "never",
		"":                         "",
		"garbage":                  "",
	} {
		if got := Mode(in); got != want {
			t.Errorf("Mode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDisabled(t *testing.T) {
	for in, want := range map[string]bool{
		"":                          false,
		"disablethp=1":              true,
		"gctrace=1,disablethp=1":    true,
		"gctrace=1, disablethp=1":   true,
		"disablethp=0":              false,
		"disablethp=1,disablethp=0": false,
		"xdisablethp=1":             false,
		"disablethp":                false,
	} {
		if got := Disabled(in); got != want {
			t.Errorf("Disabled(%q) = %v, want %v", in, got, want)
		}
	}
}

// fakeMaps serves a listing that the test changes between passes.
type fakeMaps struct{ listing string }

func (f *fakeMaps) open() (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(f.listing)), nil
}

func TestAdvisorAdvisesEachRangeOnce(t *testing.T) {
	maps := &fakeMaps{listing: "c000000000-c004000000 rw-p 00000000 00:00 0\n"}
	var advised []Range
	fail := map[Range]bool{}
	a := &Advisor{Maps: maps.open, HugeSize: 2 * mib, Advise: func(r Range) error {
		if fail[r] {
			return errors.New("EINVAL")
		}
		advised = append(advised, r)
		return nil
	}}
	pass := func(wantN int, wantErr bool) {
		t.Helper()
		n, err := a.Once()
		if n != wantN || (err != nil) != wantErr {
			t.Fatalf("Once = %d, %v; want %d, error %v", n, err, wantN, wantErr)
		}
	}
	pass(1, false)
	pass(0, false) // nothing new
	// The heap grew: a new mapping beside the first, and one that fails.
	bad := Range{0xc008000000, 0xc00c000000}
	fail[bad] = true
	maps.listing += "c004000000-c008000000 rw-p 00000000 00:00 0\nc008000000-c00c000000 rw-p 00000000 00:00 0\n"
	pass(1, true)
	delete(fail, bad)
	pass(1, false) // the failed one is tried again
	// Once advised, neighbours merge into one mapping: a new range, advised again.
	maps.listing = "c000000000-c00c000000 rw-p 00000000 00:00 0\n"
	pass(1, false)
	pass(0, false)
	want := []Range{{0xc000000000, 0xc004000000}, {0xc004000000, 0xc008000000}, bad, {0xc000000000, 0xc00c000000}}
	if !reflect.DeepEqual(advised, want) {
		t.Fatalf("advised %x, want %x", advised, want)
	}
	if len(a.done) != 1 {
		t.Fatalf("remembers %d ranges, want only the one that exists", len(a.done))
	}
}

func TestNext(t *testing.T) {
	every := minEvery
	for i := 0; i < 10; i++ {
		every = next(every, false)
	}
	if every != maxEvery {
		t.Fatalf("after ten quiet passes every %v, want %v", every, maxEvery)
	}
	if got := next(every, true); got != minEvery {
		t.Fatalf("after a change every %v, want %v", got, minEvery)
	}
	if got := next(minEvery, false); got != 2*minEvery {
		t.Fatalf("one quiet pass: every %v, want %v", got, 2*minEvery)
	}
}

// On this machine's kernel: this process's own heap is a candidate, and
// the kernel takes the advice (the mapping's VmFlags then say hg).
func TestAdviseOwnHeap(t *testing.T) {
	hold := make([]byte, 64*mib) // a heap with a whole huge page in it
	a := &Advisor{Maps: func() (io.ReadCloser, error) { return os.Open("/proc/self/maps") }, Advise: madvise, HugeSize: 2 * mib}
	n, err := a.Once()
	if err != nil {
		t.Fatalf("Once: %v", err)
	}
	if n == 0 {
		t.Fatal("no mapping of this process's heap was advised")
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(smaps), " hg") {
		t.Fatalf("no mapping has VmFlags hg after advice (%d advised)", n)
	}
	runtime.KeepAlive(hold)
}

// BenchmarkFirstTouch measures what a page of fresh memory costs the first
// time it is written, without and with the advice (ns/op is a 4 KiB page):
// go test -run '^$' -bench FirstTouch ./internal/hugepage/
func BenchmarkFirstTouch(b *testing.B) {
	for _, advise := range []bool{false, true} {
		name := "4KiB"
		if advise {
			name = "advised"
		}
		b.Run(name, func(b *testing.B) {
			const size = 64 * mib
			touched := 0
			for touched < b.N {
				m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
				if err != nil {
					b.Fatal(err)
				}
				if advise {
					start := uint64(uintptr(unsafe.Pointer(&m[0])))
					if err := madvise(Range{start, start + size}); err != nil {
						b.Fatal(err)
					}
				}
				for i := 0; i < size && touched < b.N; i += 4096 {
					m[i] = 1
					touched++
				}
				if err := syscall.Munmap(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
