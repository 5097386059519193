package kubelet

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const infraImg = "kubelite/pause:1"

func testPod(uid string, policy api.RestartPolicy, cs ...api.Container) *api.Pod {
	return &api.Pod{
		TypeMeta: api.TypeMeta{ID: "web", Namespace: "default", UID: uid},
		DesiredState: api.PodState{Host: "m1", Manifest: api.ContainerManifest{
			Containers: cs, RestartPolicy: policy,
		}},
	}
}

var web = api.Container{Name: "web", Image: "kubelite/webserver:v1", Ports: []api.Port{{ContainerPort: 80, HostPort: 8080}}}

// ctr fakes a runtime container of pod p.
func ctr(p *api.Pod, name string, attempt int, state runtime.State, exit int, started, finished time.Duration) runtime.Container {
	hash := ""
	if name == InfraName {
		hash = HashInfra(p, infraImg, PodNetwork{})
	}
	for i := range p.DesiredState.Manifest.Containers {
		if p.DesiredState.Manifest.Containers[i].Name == name {
			hash = HashContainer(&p.DesiredState.Manifest.Containers[i])
		}
	}
	c := runtime.Container{
		ID: name + "-" + p.UID + "-" + strconv.Itoa(attempt), State: state, ExitCode: exit,
		Labels:    ContainerLabels(p, name, hash, attempt),
		CreatedAt: t0.Add(started), StartedAt: t0.Add(started),
	}
	if state == runtime.StateExited {
		c.FinishedAt = t0.Add(finished)
	}
	return c
}

func acts(p Plan) []string {
	var out []string
	for _, a := range p.Actions {
		s := string(a.Kind) + " " + a.Name
		if a.Kind == ActStart || a.Kind == ActStartInfra {
			s += "#" + strconv.Itoa(a.Attempt)
		} else {
			s += " " + a.ID
		}
		out = append(out, s)
	}
	return out
}

func TestDecide(t *testing.T) {
	always := api.RestartPolicy{}
	never := api.RestartPolicy{Never: &api.RestartPolicyNever{}}
	onFailure := api.RestartPolicy{OnFailure: &api.RestartPolicyOnFailure{}}
	p := testPod("u1", always, web)
	pNever := testPod("u1", never, web)
	pOnFail := testPod("u1", onFailure, web)
	changed := testPod("u1", always, api.Container{Name: "web", Image: "kubelite/webserver:v2", Ports: web.Ports})
	other := testPod("u0", always, web)
	running := func(p *api.Pod, name string, attempt int) runtime.Container {
		return ctr(p, name, attempt, runtime.StateRunning, 0, 0, 0)
	}
	dead := func(p *api.Pod, name string, attempt, exit int, finished time.Duration) runtime.Container {
		return ctr(p, name, attempt, runtime.StateExited, exit, finished-time.Second, finished)
	}

	tests := []struct {
		name      string
		pod       *api.Pod
		cs        []runtime.Container
		now       time.Duration
		pulls     map[string]PullState
		unhealthy map[string]string
		want      []string
		waiting   string // substring of Waiting["web"]
		requeue   time.Duration
	}{
		{name: "new pod starts infra then app", pod: p,
			want: []string{"start-infra POD#0", "start web#0"}},
		{name: "everything running: nothing to do", pod: p,
			cs:   []runtime.Container{running(p, InfraName, 0), running(p, "web", 0)},
			want: nil},
		{name: "kubelet restart adopts running containers", pod: p,
			cs:   []runtime.Container{running(p, InfraName, 3), running(p, "web", 5)},
			want: nil},
		{name: "first crash restarts at once", pod: p, now: 10 * time.Second,
			cs:   []runtime.Container{running(p, InfraName, 0), dead(p, "web", 0, 137, 9*time.Second)},
			want: []string{"start web#1"}},
		{name: "second crash backs off 10s", pod: p, now: 12 * time.Second,
			cs:      []runtime.Container{running(p, InfraName, 0), dead(p, "web", 1, 1, 10*time.Second), dead(p, "web", 0, 1, 5*time.Second)},
			waiting: "CrashLoopBackOff", requeue: 8 * time.Second},
		{name: "backoff over: restart", pod: p, now: 21 * time.Second,
			cs:   []runtime.Container{running(p, InfraName, 0), dead(p, "web", 1, 1, 10*time.Second)},
			want: []string{"start web#2"}},
		{name: "backoff doubles", pod: p, now: 30 * time.Second,
			cs:      []runtime.Container{running(p, InfraName, 0), dead(p, "web", 2, 1, 20*time.Second)},
			waiting: "back-off 20s", requeue: 10 * time.Second},
		{name: "backoff capped at 5m", pod: p, now: time.Hour,
			cs:      []runtime.Container{running(p, InfraName, 0), dead(p, "web", 30, 1, time.Hour-time.Minute)},
			waiting: "back-off 5m0s", requeue: 4 * time.Minute},
		{name: "never: a dead container stays dead and the infra stops", pod: pNever, now: time.Minute,
			cs:   []runtime.Container{running(pNever, InfraName, 0), dead(pNever, "web", 0, 1, time.Second)},
			want: []string{"stop POD POD-u1-0"}},
		{name: "onFailure: exit 0 is final", pod: pOnFail, now: time.Minute,
			cs:   []runtime.Container{running(pOnFail, InfraName, 0), dead(pOnFail, "web", 0, 0, time.Second)},
			want: []string{"stop POD POD-u1-0"}},
		{name: "onFailure: exit 1 restarts", pod: pOnFail, now: time.Minute,
			cs:   []runtime.Container{running(pOnFail, InfraName, 0), dead(pOnFail, "web", 0, 1, time.Second)},
			want: []string{"start web#1"}},
		{name: "spec change replaces the container", pod: changed,
			cs:   []runtime.Container{running(changed, InfraName, 0), running(p, "web", 0)},
			want: []string{"stop web web-u1-0", "start web#1"}},
		{name: "dead infra restarts infra and apps", pod: p, now: time.Minute,
			cs:   []runtime.Container{dead(p, InfraName, 0, 0, time.Second), running(p, "web", 0)},
			want: []string{"stop web web-u1-0", "start-infra POD#1", "start web#1"}},
		{name: "liveness failure restarts", pod: p, unhealthy: map[string]string{"web-u1-0": "status 500"},
			cs:   []runtime.Container{running(p, InfraName, 0), running(p, "web", 0)},
			want: []string{"stop web web-u1-0", "start web#1"}},
		{name: "pull back-off waits", pod: p, now: 5 * time.Second,
			cs:      []runtime.Container{running(p, InfraName, 0)},
			pulls:   map[string]PullState{"web": {Failures: 1, Last: t0, Message: "no such host"}},
			waiting: "ErrImagePull: no such host", requeue: 5 * time.Second},
		{name: "pull back-off over: try again", pod: p, now: 11 * time.Second,
			cs:    []runtime.Container{running(p, InfraName, 0)},
			pulls: map[string]PullState{"web": {Failures: 1, Last: t0, Message: "x"}},
			want:  []string{"start web#0"}},
		{name: "deleted pod: stop apps, then infra, remove all", pod: nil,
			cs: []runtime.Container{running(p, InfraName, 0), running(p, "web", 1), dead(p, "web", 0, 1, 0)},
			want: []string{"stop web web-u1-1", "remove web web-u1-1", "remove web web-u1-0",
				"stop POD POD-u1-0", "remove POD POD-u1-0"}},
		{name: "containers of an older pod with the same name go", pod: p,
			cs: []runtime.Container{running(other, InfraName, 0), running(other, "web", 0)},
			want: []string{"stop web web-u0-0", "remove web web-u0-0", "stop POD POD-u0-0", "remove POD POD-u0-0",
				"start-infra POD#0", "start web#0"}},
		{name: "a created, never started container is removed, not counted", pod: pNever,
			cs:   []runtime.Container{running(pNever, InfraName, 0), ctr(pNever, "web", 0, runtime.StateCreated, 0, 0, 0)},
			want: []string{"remove web web-u1-0", "start web#0"}},
		{name: "garbage collection keeps the newest two dead", pod: p, now: time.Hour,
			cs: []runtime.Container{running(p, InfraName, 0), running(p, "web", 4),
				dead(p, "web", 3, 1, 4), dead(p, "web", 2, 1, 3), dead(p, "web", 1, 1, 2), dead(p, "web", 0, 1, 1)},
			want: []string{"remove web web-u1-1", "remove web web-u1-0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Decide(Input{Pod: tt.pod, Containers: tt.cs, Now: t0.Add(tt.now), InfraImage: infraImg,
				Pulls: tt.pulls, Unhealthy: tt.unhealthy, KeepDead: 2})
			if got := acts(plan); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("actions:\n got %q\nwant %q", got, tt.want)
			}
			if tt.waiting != "" && !strings.Contains(plan.Waiting["web"], tt.waiting) {
				t.Errorf("waiting %q, want it to contain %q", plan.Waiting["web"], tt.waiting)
			}
			if tt.waiting == "" && plan.Waiting["web"] != "" {
				t.Errorf("unexpected waiting %q", plan.Waiting["web"])
			}
			if plan.RequeueAfter != tt.requeue {
				t.Errorf("requeue after %s, want %s", plan.RequeueAfter, tt.requeue)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for n, w := range want {
		if got := Backoff(n); got != w {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, w)
		}
	}
}
