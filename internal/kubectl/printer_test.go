package kubectl

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/record"
)

func TestGetGolden(t *testing.T) {
	c := tutorialCluster(t)
	tests := []struct {
		name string
		args []string
	}{
		{"get_pods", []string{"get", "pods"}},
		{"get_pod_short", []string{"get", "po", "fedoraapache"}},
		{"get_pods_selector", []string{"get", "pods", "-l", "name=webserver_pod"}},
		{"get_pods_selector_ne", []string{"get", "pods", "-l", "name!=webserver_pod", "--no-headers"}},
		{"get_rc", []string{"get", "replicationControllers"}},
		{"get_services", []string{"get", "services"}},
		{"get_minions", []string{"get", "minions"}},
		{"get_events", []string{"get", "events"}},
		{"get_endpoints", []string{"get", "endpoints"}},
		{"get_pod_json", []string{"get", "pod", "fedoraapache", "-o", "json"}},
		{"get_service_yaml", []string{"get", "se", "webserver", "-o", "yaml"}},
		{"get_rc_list_json", []string{"--namespace", "default", "get", "rc", "-o", "json", "-l", "name=webserver"}},
		{"get_pod_template_id", []string{"get", "pods", "fedoraapache", "-o", "template", "-t", "{{ .id }}"}},
		{"get_pods_template_list", []string{"get", "pods", "-t", "{{ range .items }}{{ .id }} {{ .currentState.phase }} {{ .desiredState.host }}\n{{ end }}"}},
		{"get_rc_template_number", []string{"get", "rc", "webservercontroller", "--template", "{{ .desiredState.replicas }} {{ (index .desiredState.podTemplate.desiredState.manifest.containers 0).image }}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, mustRun(t, c, tc.args...))
		})
	}
}

func TestDescribeGolden(t *testing.T) {
	c := tutorialCluster(t)
	tests := []struct {
		name string
		args []string
	}{
		{"describe_pod", []string{"describe", "pods", "fedoraapache"}},
		{"describe_pod_pending", []string{"describe", "pod", "hostport-x1y2z"}},
		{"describe_rc", []string{"describe", "rc", "webservercontroller"}},
		{"describe_rc_hostport", []string{"describe", "replicationcontrollers", "hostport"}},
		{"describe_service", []string{"describe", "services", "webserver"}},
		{"describe_minion", []string{"describe", "minions", "192.168.1.202"}},
		{"describe_minion_notready", []string{"describe", "mi", "192.168.1.203"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, mustRun(t, c, tc.args...))
		})
	}
}

// The tutorial's loop: for i in $(kubectl get pod | tail -n +2 | awk '{print $1}'); do kubectl delete pod $i; done
func TestTutorialDeleteLoop(t *testing.T) {
	c := tutorialCluster(t)
	out := mustRun(t, c, "get", "pod")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("first line is not the header: %q", lines[0])
	}
	var ids []string
	for _, l := range lines[1:] { // tail -n +2
		ids = append(ids, strings.Fields(l)[0]) // awk '{print $1}'
	}
	if len(ids) != 5 {
		t.Fatalf("got %d pod names from the table, want 5: %q", len(ids), ids)
	}
	for _, id := range ids {
		if got := mustRun(t, c, "delete", "pod", id); got != id+"\n" {
			t.Errorf("delete pod %s printed %q", id, got)
		}
	}
	if out := mustRun(t, c, "get", "pods", "--no-headers"); out != "" {
		t.Errorf("pods left after the loop:\n%s", out)
	}
}

func TestOutputJSONIsAnObject(t *testing.T) {
	c := tutorialCluster(t)
	var m map[string]interface{}
	if err := json.Unmarshal([]byte(mustRun(t, c, "get", "pods", "-o", "json")), &m); err != nil {
		t.Fatal(err)
	}
	if m["kind"] != "PodList" || len(m["items"].([]interface{})) != 5 {
		t.Errorf("kind %v with %d items, want PodList with 5", m["kind"], len(m["items"].([]interface{})))
	}
}

func TestGetErrors(t *testing.T) {
	c := tutorialCluster(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"get"}, "which resource"},
		{[]string{"get", "widgets"}, `unknown resource "widgets"`},
		{[]string{"get", "pods", "nosuch"}, `Pod "nosuch" not found`},
		{[]string{"get", "pods", "-o", "xml"}, `unknown output format "xml"`},
		{[]string{"get", "pods", "-o", "template"}, "needs a template"},
		{[]string{"get", "pods", "-t", "{{ .id "}, "parse template"},
		{[]string{"get", "pods", "-l", "name"}, "has no =, == or !="},
		{[]string{"get", "pods", "--bogus"}, "unknown flag --bogus"},
		{[]string{"get", "pods", "-o"}, "flag -o needs a value"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
	}
	for _, tc := range tests {
		_, _, err := runCmd(t, c, "", tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("kubectl %s: error %v, want it to contain %q", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

func TestHelp(t *testing.T) {
	c := newFakeClient()
	out := mustRun(t, c, "help")
	for _, cmd := range []string{"get", "describe", "create", "update", "delete", "version", "resize", "scale", "stop", "run", "rollingupdate", "log"} {
		if !strings.Contains(out, "  "+cmd+" ") {
			t.Errorf("help does not list %s:\n%s", cmd, out)
		}
	}
	out = mustRun(t, c, "get", "--help")
	if !strings.Contains(out, "--no-headers") || !strings.Contains(out, "-o, --output") {
		t.Errorf("get --help:\n%s", out)
	}
	for _, alias := range []string{"get", "logs"} {
		canonical := map[string]string{"get": "get", "logs": "log"}[alias]
		if h, want := mustRun(t, c, "help", alias), mustRun(t, c, canonical, "--help"); h != want {
			t.Errorf("help %s printed\n%s\nwant what %s --help prints:\n%s", alias, h, canonical, want)
		}
	}
	if _, _, err := runCmd(t, c, "", "help", "frobnicate"); err == nil || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Errorf("help frobnicate: %v", err)
	}
}

// Events written by the recorder the kubelet uses (record.Store, with the
// container's field path) show in `get events` and in `describe pod`.
func TestRecorderEventsShown(t *testing.T) {
	c := newFakeClient()
	p := pod("web-1", "nginx", "m1", "", "", nil)
	mustCreate(t, c, p)
	rec := record.New(c, record.Config{Source: "kubelet m1", Clock: clock.NewFake(time.Date(2014, 12, 20, 0, 0, 0, 0, time.UTC))})
	rec.RecordField(context.Background(), p, "desiredState.manifest.containers{web}", "BackOff", `Back-off restarting failed container web`)
	rec.Record(context.Background(), p, "Killing", "Killing the pod's containers")
	golden(t, "get_events_recorder", mustRun(t, c, "get", "events"))
	if out := mustRun(t, c, "describe", "pod", "web-1"); !strings.Contains(out, "containers{web}     BackOff             kubelet m1") ||
		!strings.Contains(out, "Killing") {
		t.Errorf("describe pod does not show the kubelet's events:\n%s", out)
	}
}

// get -w's table: columns sized by the listed pods; a later wider cell
// widens its column and prints the header again above the row, so every
// block lines up with its header.
func TestWatchTableAlignment(t *testing.T) {
	short := pod("a", "img", "", "", "", map[string]string{"app": "x"})
	long := pod("web-ewgu4", "kubelite/webserver:v1", "vm", "127.0.0.1", api.PodPhaseRunning, map[string]string{"name": "web"})
	var b strings.Builder
	wt := newWatchTable(&b, api.Pods, false)
	if err := wt.PrintList(&b, api.Pods, []api.Object{short}, 0); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []struct {
		typ string
		obj api.Object
	}{{"ADDED", long}, {"MODIFIED", short}, {"DELETED", long}} {
		if err := wt.Row(ev.typ, ev.obj); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "get_watch_widen", b.String())
	// With --no-headers, nothing but rows.
	b.Reset()
	wt = newWatchTable(&b, api.Pods, true)
	if err := wt.PrintList(&b, api.Pods, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := wt.Row("DELETED", long); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "DELETED") {
		t.Errorf("--no-headers:\n%s", got)
	}
}
