package exepages

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"kubelite/internal/procmaps"
)

// File is the executable as the kernel names it: its device's numbers,
// its inode and its path (readlink /proc/self/exe).
type File struct {
	Major, Minor uint32
	Inode        uint64
	Path         string
}

// Range is a mapping's addresses, [Start, End).
type Range struct{ Start, End uint64 }

// Ranges returns the mappings of exe that Release lets go of: private and
// not writable (its text and read-only data; pure). A mapping is exe's
// when its device and inode are, or its path is: on overlayfs (a
// container's root) the kernel may show the file below the overlay in
// one and the overlay's in the other. A mapping whose device cannot be
// read is an error.
func Ranges(maps []procmaps.Mapping, exe File) ([]Range, error) {
	var out []Range
	for _, m := range maps {
		if m.Anonymous() || !m.Private() || m.Writable() {
			continue
		}
		major, minor, err := m.DevNumbers()
		if err != nil {
			return nil, err
		}
		same := m.Inode == exe.Inode && major == exe.Major && minor == exe.Minor
		if !same && (exe.Path == "" || m.Path != exe.Path) {
			continue
		}
		out = append(out, Range{m.Start, m.End})
	}
	return out, nil
}

// Process is what Release needs of the process it works on.
type Process interface {
	Maps() ([]procmaps.Mapping, error) // its mappings
	Exe() (File, error)                // its executable
	Traced() (bool, error)             // whether a debugger traces it
	Drop(Range) error                  // madvise(MADV_DONTNEED) over the range
}

// Result is what Release did: how many ranges and bytes it let go of, or
// why it did nothing.
type Result struct {
	Ranges  int
	Bytes   uint64
	Skipped string
}

// Release lets go of p's read-only mappings of its executable. A range
// that fails is reported; the others are still released.
func Release(p Process) (Result, error) {
	traced, err := p.Traced()
	if err != nil {
		return Result{}, fmt.Errorf("exe pages: %w", err)
	}
	if traced {
		return Result{Skipped: "traced by a debugger"}, nil
	}
	exe, err := p.Exe()
	if err != nil {
		return Result{}, fmt.Errorf("exe pages: %w", err)
	}
	maps, err := p.Maps()
	if err != nil {
		return Result{}, fmt.Errorf("exe pages: %w", err)
	}
	rs, err := Ranges(maps, exe)
	if err != nil {
		return Result{}, fmt.Errorf("exe pages: %w", err)
	}
	if len(rs) == 0 {
		return Result{Skipped: "no read-only mapping of the executable"}, nil
	}
	var res Result
	var errs []error
	for _, r := range rs {
		if err := p.Drop(r); err != nil {
			errs = append(errs, fmt.Errorf("exe pages: madvise %x-%x: %w", r.Start, r.End, err))
			continue
		}
		res.Ranges++
		res.Bytes += r.End - r.Start
	}
	return res, errors.Join(errs...)
}

// Self is this process, as the kernel shows it in /proc/self.
func Self() Process { return self{} }

type self struct{}

func (self) Maps() ([]procmaps.Mapping, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return procmaps.Parse(f)
}

func (self) Exe() (File, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return File{}, fmt.Errorf("stat /proc/self/exe: %w", err)
	}
	path, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return File{}, err
	}
	return File{Major: unix.Major(st.Dev), Minor: unix.Minor(st.Dev), Inode: st.Ino, Path: path}, nil
}

func (self) Traced() (bool, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false, err
	}
	return tracerPid(string(b))
}

// tracerPid reads whether /proc/self/status names a tracer (pure).
func tracerPid(status string) (bool, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "TracerPid:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return false, fmt.Errorf("status: bad TracerPid %q", v)
			}
			return pid != 0, nil
		}
	}
	return false, errors.New("status: no TracerPid")
}

func (self) Drop(r Range) error {
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, uintptr(r.Start), uintptr(r.End-r.Start), unix.MADV_DONTNEED); e != 0 {
		return e
	}
	return nil
}
