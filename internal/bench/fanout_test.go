package bench

import (
	"strings"
	"testing"
)

func TestSentOf(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int64
		ok   bool
	}{
		{`{"type":"ADDED","object":{"annotations":{"bench/sent":"1700000000123"}}}` + "\n", 1700000000123, true},
		{`{"type":"MODIFIED","object":{"annotations":{"bench/sent":"17"}}}` + "\n", 0, false},
		{`{"type":"ADDED","object":{"id":"x"}}` + "\n", 0, false},
		{`{"type":"ADDED","object":{"annotations":{"bench/sent":"12x"}}}` + "\n", 0, false},
		{`{"type":"ADDED","object":{"annotations":{"bench/sent":"12`, 0, false},
	} {
		got, ok := sentOf([]byte(tc.line))
		if got != tc.want || ok != tc.ok {
			t.Errorf("sentOf(%q) = %d, %v; want %d, %v", tc.line, got, ok, tc.want, tc.ok)
		}
	}
}

// TestReadSent reads lines longer than its buffer and stops at want.
func TestReadSent(t *testing.T) {
	pad := strings.Repeat("p", 100<<10) // longer than readSent's 64 KiB buffer
	stream := `{"type":"ADDED","object":{"annotations":{"bench/sent":"5"},"pad":"` + pad + `"}}` + "\n" +
		`{"type":"DELETED","object":{"annotations":{"bench/sent":"6"}}}` + "\n" +
		`{"type":"ADDED","object":{"annotations":{"bench/sent":"7"}}}` + "\n" +
		`{"type":"ADDED","object":{"annotations":{"bench/sent":"8"}}}` + "\n"
	got, err := readSent(strings.NewReader(stream), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].sent != 5 || got[1].sent != 7 || got[0].recv == 0 {
		t.Fatalf("got %+v, want the writes sent at 5 and 7", got)
	}
	if _, err := readSent(strings.NewReader(stream), nil, 4); err == nil {
		t.Fatal("a stream that ends before want events: no error")
	}
}
