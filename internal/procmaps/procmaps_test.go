package procmaps

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := strings.Join([]string{
		"00400000-015d0000 r-xp 00000000 fe:00 9994340                            /usr/local/bin/kubelite",
		"02910000-029b1000 rw-p 02510000 fe:00 9994340                            /usr/local/bin/kubelite",
		"029b1000-04a00000 rw-p 00000000 00:00 0 ",
		"7f1000000000-7f1040000000 r--s 00000000 103:02 99                         /var/lib/kube lite/db (deleted)",
		"7ffc00000000-7ffc00400000 rw-p 00000000 00:00 0                          [stack]",
	}, "\n") + "\n"
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{
		{0x400000, 0x15d0000, "r-xp", 0, "fe:00", 9994340, "/usr/local/bin/kubelite"},
		{0x2910000, 0x29b1000, "rw-p", 0x2510000, "fe:00", 9994340, "/usr/local/bin/kubelite"},
		{0x29b1000, 0x4a00000, "rw-p", 0, "00:00", 0, ""},
		{0x7f1000000000, 0x7f1040000000, "r--s", 0, "103:02", 99, "/var/lib/kube lite/db (deleted)"},
		{0x7ffc00000000, 0x7ffc00400000, "rw-p", 0, "00:00", 0, "[stack]"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse =\n%+v\nwant\n%+v", got, want)
	}
	for i, w := range []struct{ private, writable, anonymous bool }{
		{true, false, false}, {true, true, false}, {true, true, true}, {false, false, false}, {true, true, false},
	} {
		m := got[i]
		if m.Private() != w.private || m.Writable() != w.writable || m.Anonymous() != w.anonymous {
			t.Errorf("%s %q: private %v writable %v anonymous %v, want %+v", m.Perms, m.Path, m.Private(), m.Writable(), m.Anonymous(), w)
		}
	}
	if ma, mi, err := got[3].DevNumbers(); ma != 0x103 || mi != 2 || err != nil {
		t.Errorf("DevNumbers(%q) = %d, %d, %v; want 259, 2", got[3].Dev, ma, mi, err)
	}
}

func TestParseBadInput(t *testing.T) {
	for _, in := range []string{
		"c000000000 rw-p 00000000 00:00 0\n",
		"zz-c004000000 rw-p 00000000 00:00 0\n",
		"c004000000-c000000000 rw-p 00000000 00:00 0\n",
		"c000000000-c004000000 rw-p\n",
		"c000000000-c004000000 rw-p 0000zz00 00:00 0\n",
		"c000000000-c004000000 rw-p 00000000 00:00 -1\n",
		"\n",
	} {
		if got, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", in, got)
		}
	}
}

func TestDevNumbersBad(t *testing.T) {
	for _, dev := range []string{"", "fe", "fe:", "g0:00", "1:2:3"} {
		if _, _, err := (Mapping{Dev: dev}).DevNumbers(); err == nil {
			t.Errorf("DevNumbers(%q): want an error", dev)
		}
	}
}
