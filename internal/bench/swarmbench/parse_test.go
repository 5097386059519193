package swarmbench

import (
	"bufio"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestParseServicePS(t *testing.T) {
	out := "abc1\tweb.1\thost-a\tRunning\tRunning 5 seconds ago\t\n" +
		"abc2\tweb.2\thost-b\tRunning\tPreparing 2 seconds ago\t\n" +
		"\n" +
		"abc3\t \\_ web.2\thost-b\tShutdown\tFailed 10 seconds ago\t\"No such image: x\"\n" +
		"abc4\tweb.3\thost-a\tRunning\tRejected 1 second ago\tno suitable node\r\n"
	got, err := ParseServicePS([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Task{
		{ID: "abc1", Name: "web.1", Node: "host-a", Desired: "Running", State: "Running"},
		{ID: "abc2", Name: "web.2", Node: "host-b", Desired: "Running", State: "Preparing"},
		{ID: "abc3", Name: " \\_ web.2", Node: "host-b", Desired: "Shutdown", State: "Failed", Error: "\"No such image: x\""},
		{ID: "abc4", Name: "web.3", Node: "host-a", Desired: "Running", State: "Rejected", Error: "no suitable node"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if n := Running(got); n != 1 {
		t.Errorf("Running = %d, want 1", n)
	}
	if s := TaskSummary(got); s != "1 Preparing, 1 Rejected, 1 Running, error: no suitable node" {
		t.Errorf("TaskSummary = %q", s)
	}
}

func TestParseServicePSErrors(t *testing.T) {
	for _, in := range []string{"abc\tweb.1\tnode\n", "only-one-field"} {
		if _, err := ParseServicePS([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	tasks, err := ParseServicePS(nil)
	if err != nil || len(tasks) != 0 {
		t.Errorf("empty output: %v, %v", tasks, err)
	}
	if s := TaskSummary(tasks); s != "no tasks" {
		t.Errorf("TaskSummary(none) = %q", s)
	}
}

func TestTaskSummaryOrder(t *testing.T) {
	var tasks []Task
	for i := 0; i < 48; i++ {
		tasks = append(tasks, Task{Desired: "Running", State: "Running"})
	}
	tasks = append(tasks, Task{Desired: "Running", State: "Preparing"}, Task{Desired: "Running", State: "Preparing"},
		Task{Desired: "Shutdown", State: "Shutdown"})
	if s := TaskSummary(tasks); s != "48 Running, 2 Preparing" {
		t.Errorf("TaskSummary = %q", s)
	}
}

// containersJSON is an Engine API /containers/json answer, trimmed.
const containersJSON = `[
 {"Id":"s1","State":"running","Labels":{"com.docker.swarm.service.name":"web"},
  "NetworkSettings":{"Networks":{"bridge":{"IPAddress":"198.19.1.2"}}}},
 {"Id":"s2","State":"running","Labels":{"com.docker.swarm.service.name":"web"},
  "NetworkSettings":{"Networks":{"bridge":{"IPAddress":""}}}},
 {"Id":"s3","State":"exited","Labels":{"com.docker.swarm.service.name":"web"},
  "NetworkSettings":{"Networks":{"bridge":{"IPAddress":"198.19.1.4"}}}},
 {"Id":"s4","State":"running","Labels":{"com.docker.swarm.service.name":"other"},
  "NetworkSettings":{"Networks":{"bridge":{"IPAddress":"198.19.1.5"}}}},
 {"Id":"s0","State":"running","Labels":{"com.docker.swarm.service.name":"web"},
  "NetworkSettings":{"Networks":{"zeta":{"IPAddress":"10.0.0.9"},"alpha":{"IPAddress":"10.1.0.3"}}}},
 {"Id":"k1","State":"running","Labels":{"io.kubelite.pod.uid":"u1","io.kubelite.container.name":"POD"},
  "NetworkSettings":{"Networks":{"kubelite":{"IPAddress":"10.244.1.2"}}}},
 {"Id":"k2","State":"running","Labels":{"io.kubelite.pod.uid":"u1","io.kubelite.container.name":"web"},
  "NetworkSettings":{"Networks":{}}},
 {"Id":"k3","State":"running","Labels":{"io.kubelite.pod.uid":"u2","io.kubelite.container.name":"POD"},
  "NetworkSettings":{"Networks":{"kubelite":{"IPAddress":"10.244.1.3"}}}},
 {"Id":"k4","State":"exited","Labels":{"io.kubelite.pod.uid":"u2","io.kubelite.container.name":"web"},
  "NetworkSettings":{"Networks":{}}},
 {"Id":"k5","State":"running","Labels":{"io.kubelite.pod.uid":"u3","io.kubelite.container.name":"web"},
  "NetworkSettings":{"Networks":{}}},
 {"Id":"k6","State":"running","Labels":{"io.kubelite.pod.uid":"u4","io.kubelite.container.name":"sidecar"},
  "NetworkSettings":{"Networks":{}}},
 {"Id":"k7","State":"running","Labels":{"io.kubelite.pod.uid":"u4","io.kubelite.container.name":"POD","io.kubelite.pod.ip":"10.244.1.7"},
  "NetworkSettings":{"Networks":{"none":{"IPAddress":""}}}},
 {"Id":"k8","State":"running","Labels":{"io.kubelite.pod.uid":"u5","io.kubelite.container.name":"web","io.kubelite.pod.own-network":"true","io.kubelite.pod.ip":"10.244.1.8"},
  "NetworkSettings":{"Networks":{"none":{"IPAddress":""}}}},
 {"Id":"k9","State":"exited","Labels":{"io.kubelite.pod.uid":"u6","io.kubelite.container.name":"web","io.kubelite.pod.own-network":"true","io.kubelite.pod.ip":"10.244.1.9"},
  "NetworkSettings":{"Networks":{"none":{"IPAddress":""}}}}
]`

func TestReplicasFromContainers(t *testing.T) {
	var cs []container
	if err := json.Unmarshal([]byte(containersJSON), &cs); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  []Replica
		want []Replica
	}{
		// s2 has no address yet, s3 has exited, s4 is another service; s0's
		// address is the one of its first network by name.
		{"swarm web", swarmReplicas(cs, "web"), []Replica{{"s0", "10.1.0.3"}, {"s1", "198.19.1.2"}}},
		{"swarm none", swarmReplicas(cs, "db"), nil},
		// u2's app container exited, u3 has no infra container, u4 runs no
		// "web"; u4's infra was attached by the kubelet (its label's address);
		// u5 has no infra, its app holds the address; u6's such app exited.
		{"kubelite web", kubeliteReplicas(cs, "web"), []Replica{{"u1", "10.244.1.2"}, {"u5", "10.244.1.8"}}},
		{"kubelite sidecar", kubeliteReplicas(cs, "sidecar"), []Replica{{"u4", "10.244.1.7"}}},
	}
	for _, tc := range tests {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"Name:\tdockerd\nVmPeak:\t  900000 kB\nVmRSS:\t   51234 kB\nThreads: 20\n", 51234 << 10, ""},
		{"Name:\tkthreadd\nThreads: 1\n", 0, "no VmRSS"},
		{"VmRSS:\t12 MB\n", 0, "unexpected"},
		{"VmRSS:\tx kB\n", 0, "VmRSS"},
	}
	for _, tc := range tests {
		got, err := ParseVmRSS([]byte(tc.in))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestMedian64(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		want int64
	}{{[]int64{5}, 5}, {[]int64{9, 1, 5}, 5}, {[]int64{4, 3, 2, 1, 100}, 3}} {
		if got := median64(tc.in); got != tc.want {
			t.Errorf("median64(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestRcJSON(t *testing.T) {
	b, err := rcJSON("198.18.9.2:5000/kubelite/webserver:v1", 7)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	ds := m["desiredState"].(map[string]any)
	if m["kind"] != "ReplicationController" || m["id"] != "web" || ds["replicas"] != float64(7) {
		t.Errorf("rc: %s", b)
	}
	if !strings.Contains(string(b), `"image":"198.18.9.2:5000/kubelite/webserver:v1"`) {
		t.Errorf("rc without the registry image: %s", b)
	}
}

func TestResultAdd(t *testing.T) {
	var r Result
	r.add("a", "s", "kubelite", 1)
	r.add("a", "s", "swarm", 2)
	r.add("b", "MB", "swarm", 3)
	r.add("a", "s", "kubelite", 4)
	want := []Row{{Name: "a", Unit: "s", Kubelite: []float64{1, 4}, Swarm: []float64{2}}, {Name: "b", Unit: "MB", Swarm: []float64{3}}}
	if !reflect.DeepEqual(r.Rows, want) {
		t.Errorf("rows %+v, want %+v", r.Rows, want)
	}
}

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		in, pod, err string
	}{
		{"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npod: web-abc12\nversion: v1\n", "web-abc12", ""},
		{"HTTP/1.0 500 Internal Server Error\r\n\r\n", "", "answer"},
		{"HTTP/1.0 200 OK\r\n\r\nhello\n", "", "without a pod line"},
		{"", "", "read status"},
	}
	for _, tc := range tests {
		pod, _, err := parseAnswer(bufio.NewReader(strings.NewReader(tc.in)))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || pod != tc.pod {
			t.Errorf("%q: pod %q, err %v; want %q", tc.in, pod, err, tc.pod)
		}
	}
}
