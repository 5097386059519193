package procmaps

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Mapping is one line of /proc/PID/maps:
//
//	start-end perms offset dev inode [path]
type Mapping struct {
	Start, End uint64 // addresses, [Start, End)
	Perms      string // "r-xp": read, write, execute, then p(rivate) or s(hared)
	Offset     uint64 // into the file
	Dev        string // the file's device, "major:minor" in hex ("fe:00"); "00:00" when anonymous
	Inode      uint64 // 0 when anonymous
	Path       string // "" when anonymous; "[stack]", "/usr/bin/x", "/usr/bin/x (deleted)"
}

// Parse reads a listing (pure). A line that does not have the five fields
// and a valid range is an error: the kernel writes none such.
func Parse(r io.Reader) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m, err := parseLine(sc.Text())
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("maps: %w", err)
	}
	return out, nil
}

func parseLine(line string) (Mapping, error) {
	var f [5]string
	rest := line
	for i := range f {
		f[i], rest = field(rest)
		if f[i] == "" {
			return Mapping{}, fmt.Errorf("maps: short line %q", line)
		}
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	if !ok {
		return Mapping{}, fmt.Errorf("maps: bad range %q", f[0])
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return Mapping{}, fmt.Errorf("maps: bad range %q", f[0])
	}
	off, err := strconv.ParseUint(f[2], 16, 64)
	if err != nil {
		return Mapping{}, fmt.Errorf("maps: bad offset %q", f[2])
	}
	ino, err := strconv.ParseUint(f[4], 10, 64)
	if err != nil {
		return Mapping{}, fmt.Errorf("maps: bad inode %q", f[4])
	}
	// The path is the rest of the line, spaces included.
	return Mapping{Start: start, End: end, Perms: f[1], Offset: off, Dev: f[3], Inode: ino,
		Path: strings.TrimLeft(rest, " ")}, nil
}

// field cuts s's first space-separated field from the rest.
func field(s string) (string, string) {
	s = strings.TrimLeft(s, " ")
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// Private reports whether the mapping is private (copy on write), not shared.
func (m Mapping) Private() bool { return len(m.Perms) == 4 && m.Perms[3] == 'p' }

// Writable reports whether the process may write the mapping.
func (m Mapping) Writable() bool { return len(m.Perms) == 4 && m.Perms[1] == 'w' }

// Anonymous reports whether no file backs the mapping and it has no name
// ([stack], [heap], [vdso] have one).
func (m Mapping) Anonymous() bool { return m.Inode == 0 && m.Path == "" }

// DevNumbers is Dev as numbers: the device's major and minor.
func (m Mapping) DevNumbers() (major, minor uint32, err error) {
	a, b, ok := strings.Cut(m.Dev, ":")
	if ok {
		ma, err1 := strconv.ParseUint(a, 16, 32)
		mi, err2 := strconv.ParseUint(b, 16, 32)
		if err1 == nil && err2 == nil {
			return uint32(ma), uint32(mi), nil
		}
	}
	return 0, 0, fmt.Errorf("maps: bad device %q", m.Dev)
}
