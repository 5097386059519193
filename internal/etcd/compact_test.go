package etcd

import "testing"

func TestCompactTarget(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		rev, done, retention int64
		want                 int64
		ok                   bool
	}{
		{"a young cluster keeps everything", 50_000, 0, 100_000, 0, false},
		{"just past the retention: not yet a batch", 105_000, 0, 100_000, 0, false},
		{"a tenth past it: compact", 110_001, 0, 100_000, 10_001, true},
		{"a burst of 450,000 revisions", 450_000, 0, 100_000, 350_000, true},
		{"compacted a moment ago", 455_000, 350_000, 100_000, 0, false},
		{"a batch since the last", 460_001, 350_000, 100_000, 360_001, true},
		{"retention 1", 10, 0, 1, 9, true},
		{"retention 1, compacted just before", 10, 8, 1, 0, false},
		{"no retention: never", 1_000_000, 0, 0, 0, false},
	} {
		got, ok := compactTarget(tc.rev, tc.done, tc.retention)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: compactTarget(%d, %d, %d) = %d, %v, want %d, %v", tc.name, tc.rev, tc.done, tc.retention, got, ok, tc.want, tc.ok)
		}
	}
}
