package exepages

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"kubelite/internal/procmaps"
)

// A static Go binary's mappings (/proc/PID/maps of a minion), trimmed, with
// another file of the same inode on another device and the binary's
// writable data.
const sampleMaps = `00400000-015d0000 r-xp 00000000 fe:00 9994340                            /usr/local/bin/kubelite
015d0000-02910000 r--p 011d0000 fe:00 9994340                            /usr/local/bin/kubelite
02910000-029b1000 rw-p 02510000 fe:00 9994340                            /usr/local/bin/kubelite
029b1000-04a00000 rw-p 00000000 00:00 0
7f0000000000-7f0000100000 r--p 00000000 fe:01 9994340                    /var/lib/other
7f1000000000-7f1040000000 r--s 00000000 fe:00 9994340                    /usr/local/bin/kubelite
7ffc00000000-7ffc00400000 rw-p 00000000 00:00 0                          [stack]
`

var kubelite = File{Major: 0xfe, Minor: 0, Inode: 9994340, Path: "/usr/local/bin/kubelite"}

func parse(t *testing.T, maps string) []procmaps.Mapping {
	t.Helper()
	m, err := procmaps.Parse(strings.NewReader(maps))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRanges(t *testing.T) {
	for _, c := range []struct {
		name string
		maps string
		exe  File
		want []Range
	}{
		{"text and read-only data, never the data, a shared mapping or another device's file", sampleMaps, kubelite,
			[]Range{{0x400000, 0x15d0000}, {0x15d0000, 0x2910000}}},
		{"a binary replaced on disk while it runs (both names end in (deleted))",
			"00400000-015d0000 r-xp 00000000 fe:00 9994340 /usr/local/bin/kubelite (deleted)\n",
			File{Major: 0xfe, Inode: 9994340, Path: "/usr/local/bin/kubelite (deleted)"},
			[]Range{{0x400000, 0x15d0000}}},
		{"another executable", sampleMaps, File{Major: 0xfe, Inode: 1, Path: "/usr/bin/other"}, nil},
		{"an executable of the same inode on another device", sampleMaps,
			File{Major: 0xfe, Minor: 1, Inode: 9994340, Path: "/var/lib/other"},
			[]Range{{0x7f0000000000, 0x7f0000100000}}},
		{"overlayfs: the mappings name the file below the overlay, the same path",
			"00400000-015d0000 r-xp 00000000 00:2e 77 /usr/local/bin/kubelite\n", kubelite,
			[]Range{{0x400000, 0x15d0000}}},
		{"overlayfs: the mappings name the overlay's path, the same device and inode",
			"00400000-015d0000 r-xp 00000000 fe:00 9994340 /var/lib/docker/overlay2/x/diff/kubelite\n", kubelite,
			[]Range{{0x400000, 0x15d0000}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Ranges(parse(t, c.maps), c.exe)
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Ranges = %x, %v; want %x", got, err, c.want)
			}
		})
	}
}

func TestRangesBadDevice(t *testing.T) {
	m := parse(t, "00400000-015d0000 r-xp 00000000 fe:zz 9994340 /usr/local/bin/kubelite\n")
	if got, err := Ranges(m, kubelite); err == nil {
		t.Fatalf("Ranges = %x, want an error", got)
	}
}

// fakeProcess is a Process of sampleMaps that records what it dropped.
type fakeProcess struct {
	maps    string
	traced  bool
	failing map[Range]error
	errs    map[string]error // by method: Maps, Exe, Traced
	dropped []Range
}

func (f *fakeProcess) Maps() ([]procmaps.Mapping, error) {
	if err := f.errs["Maps"]; err != nil {
		return nil, err
	}
	return procmaps.Parse(strings.NewReader(f.maps))
}

func (f *fakeProcess) Exe() (File, error) { return kubelite, f.errs["Exe"] }

func (f *fakeProcess) Traced() (bool, error) { return f.traced, f.errs["Traced"] }

func (f *fakeProcess) Drop(r Range) error {
	if err := f.failing[r]; err != nil {
		return err
	}
	f.dropped = append(f.dropped, r)
	return nil
}

func TestRelease(t *testing.T) {
	text, rodata := Range{0x400000, 0x15d0000}, Range{0x15d0000, 0x2910000}
	boom := errors.New("boom")
	for _, c := range []struct {
		name    string
		p       *fakeProcess
		want    Result
		dropped []Range
		err     string
	}{
		{"both read-only mappings", &fakeProcess{maps: sampleMaps},
			Result{Ranges: 2, Bytes: 0x2910000 - 0x400000}, []Range{text, rodata}, ""},
		{"traced: nothing", &fakeProcess{maps: sampleMaps, traced: true},
			Result{Skipped: "traced by a debugger"}, nil, ""},
		{"no mapping of the executable", &fakeProcess{maps: "029b1000-04a00000 rw-p 00000000 00:00 0\n"},
			Result{Skipped: "no read-only mapping of the executable"}, nil, ""},
		{"one range fails, the other is released", &fakeProcess{maps: sampleMaps, failing: map[Range]error{text: boom}},
			Result{Ranges: 1, Bytes: rodata.End - rodata.Start}, []Range{rodata}, "madvise 400000-15d0000: boom"},
		{"status unreadable", &fakeProcess{maps: sampleMaps, errs: map[string]error{"Traced": boom}},
			Result{}, nil, "boom"},
		{"executable unreadable", &fakeProcess{maps: sampleMaps, errs: map[string]error{"Exe": boom}},
			Result{}, nil, "boom"},
		{"maps unreadable", &fakeProcess{maps: sampleMaps, errs: map[string]error{"Maps": boom}},
			Result{}, nil, "boom"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Release(c.p)
			if got != c.want || !reflect.DeepEqual(c.p.dropped, c.dropped) {
				t.Errorf("Release = %+v, dropped %x; want %+v, %x", got, c.p.dropped, c.want, c.dropped)
			}
			if (err == nil) != (c.err == "") || err != nil && !strings.Contains(err.Error(), c.err) {
				t.Errorf("Release error = %v, want %q", err, c.err)
			}
		})
	}
}

func TestTracerPid(t *testing.T) {
	for _, c := range []struct {
		status string
		traced bool
		ok     bool
	}{
		{"Name:\tkubelite\nTracerPid:\t0\nUid:\t0\n", false, true},
		{"Name:\tkubelite\nTracerPid:\t4242\n", true, true},
		{"Name:\tkubelite\n", false, false},
		{"TracerPid:\tx\n", false, false},
	} {
		traced, err := tracerPid(c.status)
		if traced != c.traced || (err == nil) != c.ok {
			t.Errorf("tracerPid(%q) = %v, %v; want %v, ok %v", c.status, traced, err, c.traced, c.ok)
		}
	}
}
