package bench

import (
	"strings"
	"testing"
)

// Counters as a master's /metrics printed them after a 15,000-pod scale run
// (other series and comments left in, as they come).
const metricsSample = `# HELP apiserver_request_total Requests by verb, resource and code.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",resource="",verb="get"} 1
apiserver_request_total{code="200",resource="minions",verb="get"} 250
apiserver_request_total{code="200",resource="minions",verb="update"} 7253
apiserver_request_total{code="200",resource="pods",verb="update"} 14940
apiserver_request_total{code="201",resource="minions",verb="create"} 500
apiserver_request_total{code="200",resource="minions",verb="heartbeat"} 2000
apiserver_request_total{code="201",resource="pods",verb="create"} 14969
apiserver_request_total{code="409",resource="pods",verb="create"} 31
apiserver_request_total{code="409",resource="pods",verb="update"} 193
apiserver_request_total{code="429",resource="minions",verb="get"} 12
apiserver_request_total{code="503",resource="pods",verb="create"} 32
apiserver_request_total{code="503",resource="pods",verb="update"} 80
apiserver_request_duration_seconds_bucket{resource="pods",verb="create",le="0.005"} 10
apiserver_request_total{garbage
`

func TestRequestNote(t *testing.T) {
	counts, err := parseRequestCounts(strings.NewReader(metricsSample))
	if err != nil {
		t.Fatal(err)
	}
	if got := counts[reqKey{resource: "pods", verb: "update", code: "409"}]; got != 193 {
		t.Fatalf("pods update 409 = %v, want 193", got)
	}
	for _, tc := range []struct {
		pods int
		want string
	}{
		{15000, "the master answered 15,032 pod creates and 15,213 pod updates (1.00 and 1.01 a pod), " +
			"7,753 minion writes, 262 minion reads and 2,000 heartbeats (leases renewed, no write); 224 answers were 409 (conflict), 12 were 429 (busy) and 112 were 503 (not committed in time)"},
		{0, "the master answered 15,032 pod creates and 15,213 pod updates (- and - a pod), " +
			"7,753 minion writes, 262 minion reads and 2,000 heartbeats (leases renewed, no write); 224 answers were 409 (conflict), 12 were 429 (busy) and 112 were 503 (not committed in time)"},
	} {
		if got := requestNote(counts, tc.pods); got != tc.want {
			t.Errorf("pods %d:\n got %s\nwant %s", tc.pods, got, tc.want)
		}
	}
	if got := requestNote(nil, 10); !strings.Contains(got, "0 pod creates") {
		t.Errorf("no counters: %s", got)
	}
}
