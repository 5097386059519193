package kubelet

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// decideScenario is one input to Decide whose plan is pinned in
// testdata/decide/<file>.txt, the way etcd's raft pins its state machine:
// the transcript shows the input state and the plan, so a change of
// behaviour shows as a readable diff.
type decideScenario struct {
	file      string
	about     string
	pod       *api.Pod
	cs        []runtime.Container
	now       time.Duration
	pulls     map[string]PullState
	unhealthy map[string]string
	keepDead  int
	network   PodNetwork
	refused   string
	solo      bool // SoloPods (Config.PodInfra auto)
}

func decideScenarios() []decideScenario {
	always := api.RestartPolicy{}
	never := api.RestartPolicy{Never: &api.RestartPolicyNever{}}
	onFailure := api.RestartPolicy{OnFailure: &api.RestartPolicyOnFailure{}}
	side := api.Container{Name: "side", Image: "kubelite/sidecar:v1"}
	p := testPod("u1", always, web)
	pNever := testPod("u1", never, web)
	pOnFail := testPod("u1", onFailure, web)
	pTwo := testPod("u1", always, web, side)
	pTwoNever := testPod("u1", never, web, side)
	pEmpty := testPod("u1", always)
	changed := testPod("u1", always, api.Container{Name: "web", Image: "kubelite/webserver:v2", Ports: web.Ports})
	other := testPod("u0", always, web)
	running := func(p *api.Pod, name string, attempt int) runtime.Container {
		return ctr(p, name, attempt, runtime.StateRunning, 0, 0, 0)
	}
	dead := func(p *api.Pod, name string, attempt, exit int, finished time.Duration) runtime.Container {
		return ctr(p, name, attempt, runtime.StateExited, exit, finished-time.Second, finished)
	}
	ranLong := dead(p, "web", 4, 1, 20*time.Minute)
	ranLong.StartedAt = t0.Add(5 * time.Minute)
	dup := running(p, "web", 0)
	dup.ID = "web-u1-0b"
	infraDup := running(p, InfraName, 0)
	infraDup.ID = "POD-u1-0b"
	cs := func(c ...runtime.Container) []runtime.Container { return c }
	// Solo pods: one container without a host port, on a pod network.
	nw := PodNetwork{Name: "kubelite-pods", Subnet: "10.244.1.0/24"}
	lone := api.Container{Name: "web", Image: "kubelite/webserver:v1", Ports: []api.Port{{ContainerPort: 80}}}
	pSolo := testPod("u1", always, lone)
	pSoloNever := testPod("u1", never, lone)
	pSoloTwo := testPod("u1", always, lone, side)
	solo := func(p *api.Pod, c runtime.Container, net PodNetwork) runtime.Container {
		c.Labels[runtime.LabelSpecHash] = HashSolo(p, &p.DesiredState.Manifest.Containers[0], net)
		c.Labels[LabelOwnNetwork] = "true"
		return c
	}
	onNet := func(p *api.Pod, c runtime.Container) runtime.Container {
		c.Labels[runtime.LabelSpecHash] = HashInfra(p, infraImg, nw)
		return c
	}

	return []decideScenario{
		// Stale: containers of another (or no) pod.
		{file: "stale-deleted-pod", about: "deleted pod: stop apps, then infra, remove all",
			cs: cs(running(p, InfraName, 0), running(p, "web", 1), dead(p, "web", 0, 1, 0))},
		{file: "stale-older-uid", about: "containers of an older pod with the same name go, the new one starts", pod: p,
			cs: cs(running(other, InfraName, 0), running(other, "web", 0))},
		{file: "stale-created-never-started", about: "a created, never started container is removed, not counted", pod: pNever,
			cs: cs(running(pNever, InfraName, 0), ctr(pNever, "web", 0, runtime.StateCreated, 0, 0, 0))},
		{file: "stale-not-in-manifest", about: "a container no longer in the manifest goes", pod: p,
			cs: cs(running(p, InfraName, 0), running(p, "web", 0), running(pTwo, "side", 0), dead(pTwo, "side", 1, 1, time.Second))},

		// Refused by admission.
		{file: "refused-running", about: "a refused pod stops what runs, apps before infra, and waits", pod: pTwo,
			refused: "insufficient memory",
			cs:      cs(running(pTwo, InfraName, 0), running(pTwo, "web", 0), dead(pTwo, "side", 0, 1, time.Second))},
		{file: "refused-nothing", about: "a refused pod with no containers only waits", pod: p, refused: "host port 8080 in use"},

		// Infra.
		{file: "infra-new-pod", about: "new pod starts infra then app", pod: p},
		{file: "infra-empty-pod", about: "a pod without containers still gets its infra", pod: pEmpty},
		{file: "infra-dead", about: "dead infra restarts infra and apps", pod: p, now: time.Minute,
			cs: cs(dead(p, InfraName, 0, 0, time.Second), running(p, "web", 0))},
		{file: "infra-network-changed", about: "a new pod network replaces the infra and the apps on it", pod: p,
			network: PodNetwork{Name: "kubelite", Subnet: "10.244.1.0/24"},
			cs:      cs(running(p, InfraName, 0), running(p, "web", 0))},
		{file: "infra-duplicate", about: "two running infras: the second stops", pod: p,
			cs: cs(running(p, InfraName, 0), infraDup, running(p, "web", 0))},
		{file: "infra-finished-never", about: "never: a dead container stays dead and the infra stops", pod: pNever, now: time.Minute,
			cs: cs(running(pNever, InfraName, 0), dead(pNever, "web", 0, 1, time.Second))},
		{file: "infra-finished-dead", about: "finished pod with a dead infra: nothing to do", pod: pNever, now: time.Minute,
			cs: cs(dead(pNever, InfraName, 0, 0, 2*time.Second), dead(pNever, "web", 0, 1, time.Second))},
		{file: "infra-dead-app-backing-off", about: "new infra while the dead app is in back-off: the app waits", pod: p, now: 12 * time.Second,
			cs: cs(dead(p, InfraName, 0, 0, 11*time.Second), dead(p, "web", 1, 1, 10*time.Second))},
		{file: "infra-dead-app-final", about: "new infra: the running app restarts, the finished one does not", pod: pTwoNever, now: time.Minute,
			cs: cs(dead(pTwoNever, InfraName, 0, 0, 2*time.Second), running(pTwoNever, "web", 0), dead(pTwoNever, "side", 0, 0, time.Second))},

		// Apps.
		{file: "apps-all-running", about: "everything running: nothing to do", pod: p,
			cs: cs(running(p, InfraName, 0), running(p, "web", 0))},
		{file: "apps-adopt", about: "kubelet restart adopts running containers", pod: p,
			cs: cs(running(p, InfraName, 3), running(p, "web", 5))},
		{file: "apps-first-crash", about: "first crash restarts at once", pod: p, now: 10 * time.Second,
			cs: cs(running(p, InfraName, 0), dead(p, "web", 0, 137, 9*time.Second))},
		{file: "apps-second-crash", about: "second crash backs off 10s", pod: p, now: 12 * time.Second,
			cs: cs(running(p, InfraName, 0), dead(p, "web", 1, 1, 10*time.Second), dead(p, "web", 0, 1, 5*time.Second))},
		{file: "apps-backoff-over", about: "back-off over: restart", pod: p, now: 21 * time.Second,
			cs: cs(running(p, InfraName, 0), dead(p, "web", 1, 1, 10*time.Second))},
		{file: "apps-backoff-doubles", about: "back-off doubles", pod: p, now: 30 * time.Second,
			cs: cs(running(p, InfraName, 0), dead(p, "web", 2, 1, 20*time.Second))},
		{file: "apps-backoff-capped", about: "back-off capped at 5m", pod: p, now: time.Hour,
			cs: cs(running(p, InfraName, 0), dead(p, "web", 30, 1, time.Hour-time.Minute))},
		{file: "apps-stable-run-resets", about: "a container that ran 10 minutes restarts at once", pod: p, now: 20*time.Minute + time.Second,
			cs: cs(running(p, InfraName, 0), ranLong)},
		{file: "apps-onfailure-exit0", about: "onFailure: exit 0 is final", pod: pOnFail, now: time.Minute,
			cs: cs(running(pOnFail, InfraName, 0), dead(pOnFail, "web", 0, 0, time.Second))},
		{file: "apps-onfailure-exit1", about: "onFailure: exit 1 restarts", pod: pOnFail, now: time.Minute,
			cs: cs(running(pOnFail, InfraName, 0), dead(pOnFail, "web", 0, 1, time.Second))},
		{file: "apps-never-one-of-two", about: "never: one app ended, the other runs: the pod is not finished", pod: pTwoNever, now: time.Minute,
			cs: cs(running(pTwoNever, InfraName, 0), running(pTwoNever, "web", 0), dead(pTwoNever, "side", 0, 1, time.Second))},
		{file: "apps-spec-changed", about: "spec change replaces the container", pod: changed,
			cs: cs(running(changed, InfraName, 0), running(p, "web", 0))},
		{file: "apps-duplicate", about: "two running copies of one app: the older stops", pod: p,
			cs: cs(running(p, InfraName, 0), running(p, "web", 1), dup)},
		{file: "apps-liveness-always", about: "liveness failure restarts", pod: p, unhealthy: map[string]string{"web-u1-0": "status 500"},
			cs: cs(running(p, InfraName, 0), running(p, "web", 0))},
		{file: "apps-liveness-never", about: "liveness failure under never: stop only", pod: pNever, unhealthy: map[string]string{"web-u1-0": "status 500"},
			cs: cs(running(pNever, InfraName, 0), running(pNever, "web", 0))},
		{file: "apps-pull-backoff", about: "pull back-off waits", pod: p, now: 5 * time.Second,
			cs:    cs(running(p, InfraName, 0)),
			pulls: map[string]PullState{"web": {Failures: 1, Last: t0, Message: "no such host"}}},
		{file: "apps-pull-backoff-over", about: "pull back-off over: try again", pod: p, now: 11 * time.Second,
			cs:    cs(running(p, InfraName, 0)),
			pulls: map[string]PullState{"web": {Failures: 1, Last: t0, Message: "x"}}},
		{file: "apps-two-waits", about: "two apps waiting: requeue after the shorter wait", pod: pTwo, now: 12 * time.Second,
			cs:    cs(running(pTwo, InfraName, 0), dead(pTwo, "web", 1, 1, 10*time.Second)),
			pulls: map[string]PullState{"side": {Failures: 2, Last: t0, Message: "manifest unknown"}}},

		// Solo: a pod of one container without host ports runs without an infra.
		{file: "solo-new-pod", about: "a lone container on a pod network starts alone, holding the network", pod: pSolo, network: nw, solo: true},
		{file: "solo-running", about: "a solo pod running: nothing to do", pod: pSolo, network: nw, solo: true,
			cs: cs(solo(pSolo, running(pSolo, "web", 0), nw))},
		{file: "solo-crash", about: "a solo pod's app exits: it restarts alone (the runtime gives its address back)", pod: pSolo, network: nw, solo: true, now: 10 * time.Second,
			cs: cs(solo(pSolo, dead(pSolo, "web", 0, 137, 9*time.Second), nw))},
		{file: "solo-finished", about: "never: a finished solo pod starts nothing", pod: pSoloNever, network: nw, solo: true, now: time.Minute,
			cs: cs(solo(pSoloNever, dead(pSoloNever, "web", 0, 0, time.Second), nw))},
		{file: "solo-keeps-running-infra", about: "a pod started with an infra keeps it while it runs", pod: pSolo, network: nw, solo: true,
			cs: cs(onNet(pSolo, running(pSolo, InfraName, 0)), running(pSolo, "web", 0))},
		{file: "solo-infra-died", about: "the infra of a lone container died: its dead infras go, the app restarts alone", pod: pSolo, network: nw, solo: true, now: time.Minute,
			cs: cs(onNet(pSolo, dead(pSolo, InfraName, 1, 0, 2*time.Second)), onNet(pSolo, dead(pSolo, InfraName, 0, 0, time.Second)), running(pSolo, "web", 0))},
		{file: "solo-network-changed", about: "a new pod network replaces a solo pod's app", pod: pSolo, network: nw, solo: true,
			cs: cs(solo(pSolo, running(pSolo, "web", 0), PodNetwork{Name: "kubelite-pods", Subnet: "10.244.9.0/24"}))},
		{file: "solo-off", about: "pod infra always: a running solo app is replaced by an infra and the app in it", pod: pSolo, network: nw,
			cs: cs(solo(pSolo, running(pSolo, "web", 0), nw))},
		{file: "solo-host-port", about: "a host port keeps the infra (the engine forwards it)", pod: p, network: nw, solo: true},
		{file: "solo-two-containers", about: "two containers share an infra", pod: pSoloTwo, network: nw, solo: true},
		{file: "solo-no-network", about: "on the engine's default bridge every pod has an infra", pod: pSolo, solo: true},

		// Garbage.
		{file: "garbage-keep-two", about: "garbage collection keeps the newest two dead", pod: p, now: time.Hour, keepDead: 2,
			cs: cs(running(p, InfraName, 0), running(p, "web", 4),
				dead(p, "web", 3, 1, 4*time.Second), dead(p, "web", 2, 1, 3*time.Second), dead(p, "web", 1, 1, 2*time.Second), dead(p, "web", 0, 1, time.Second))},
		{file: "garbage-keep-none", about: "keep no dead container: dead infras and apps go", pod: p, now: time.Hour, keepDead: -1,
			cs: cs(running(p, InfraName, 2), dead(p, InfraName, 1, 0, 3*time.Second), dead(p, InfraName, 0, 0, 2*time.Second), running(p, "web", 1), dead(p, "web", 0, 1, time.Second))},
	}
}

// renderDecide writes a scenario's input and plan as the transcript.
func renderDecide(s decideScenario, plan Plan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", s.about)
	b.WriteString("input:\n")
	infraHash := ""
	hashes := map[string]string{}
	if s.pod != nil {
		m := s.pod.DesiredState.Manifest
		policy := "Always"
		switch {
		case m.RestartPolicy.Never != nil:
			policy = "Never"
		case m.RestartPolicy.OnFailure != nil:
			policy = "OnFailure"
		}
		fmt.Fprintf(&b, "  pod %s/%s uid=%s restart=%s\n", s.pod.Namespace, s.pod.ID, s.pod.UID, policy)
		for i := range m.Containers {
			c := &m.Containers[i]
			fmt.Fprintf(&b, "    want %s image=%s\n", c.Name, c.Image)
			hashes[c.Name] = HashContainer(c)
			if plan.Solo {
				hashes[c.Name] = HashSolo(s.pod, c, s.network)
			}
		}
		infraHash = HashInfra(s.pod, infraImg, s.network)
		hashes[InfraName] = infraHash
	} else {
		b.WriteString("  pod <none>\n")
	}
	fmt.Fprintf(&b, "  now=+%s keepDead=%d\n", s.now, s.keepDead)
	if s.network.Name != "" {
		fmt.Fprintf(&b, "  network %s@%s\n", s.network.Name, s.network.Subnet)
	}
	if s.refused != "" {
		fmt.Fprintf(&b, "  refused %q\n", s.refused)
	}
	if s.solo {
		b.WriteString("  pod infra auto (solo pods allowed)\n")
	}
	for _, c := range s.cs {
		name := c.Labels[runtime.LabelContainerName]
		state := string(c.State)
		if c.State == runtime.StateExited {
			state += fmt.Sprintf("(%d) ran +%s..+%s", c.ExitCode, c.StartedAt.Sub(t0), c.FinishedAt.Sub(t0))
		}
		spec := "current"
		if s.pod == nil || c.Labels[runtime.LabelPodUID] != s.pod.UID {
			spec = "uid " + c.Labels[runtime.LabelPodUID]
		} else if h, ok := hashes[name]; !ok {
			spec = "not wanted"
		} else if h != c.Labels[runtime.LabelSpecHash] {
			spec = "spec differs"
		}
		fmt.Fprintf(&b, "  container %s %s#%d %s [%s]\n", c.ID, name, Attempt(c), state, spec)
	}
	for _, n := range sortedKeys(s.pulls) {
		ps := s.pulls[n]
		fmt.Fprintf(&b, "  pull %s failures=%d last=+%s %q\n", n, ps.Failures, ps.Last.Sub(t0), ps.Message)
	}
	for _, id := range sortedKeys(s.unhealthy) {
		fmt.Fprintf(&b, "  unhealthy %s %q\n", id, s.unhealthy[id])
	}
	b.WriteString("plan:\n")
	if plan.Solo {
		b.WriteString("  solo: no infra, the app holds the network\n")
	}
	for _, a := range plan.Actions {
		fmt.Fprintf(&b, "  %s\n", a)
	}
	for _, n := range sortedKeys(plan.Waiting) {
		fmt.Fprintf(&b, "  waiting %s: %s\n", n, plan.Waiting[n])
	}
	if plan.RequeueAfter > 0 {
		fmt.Fprintf(&b, "  requeue after %s\n", plan.RequeueAfter)
	}
	if len(plan.Actions) == 0 && len(plan.Waiting) == 0 && plan.RequeueAfter == 0 {
		b.WriteString("  (nothing)\n")
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestDecideGolden pins Decide's plans in testdata/decide/*.txt; run with
// -update to rewrite them after an intended change, and read the diff.
func TestDecideGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range decideScenarios() {
		t.Run(s.file, func(t *testing.T) {
			if seen[s.file] {
				t.Fatalf("two scenarios named %s", s.file)
			}
			seen[s.file] = true
			keep := s.keepDead
			if keep == 0 {
				keep = 2
			} else if keep < 0 {
				keep = 0
			}
			s.keepDead = keep
			plan := Decide(Input{Pod: s.pod, Containers: s.cs, Now: t0.Add(s.now), InfraImage: infraImg,
				Network: s.network, Pulls: s.pulls, Unhealthy: s.unhealthy, KeepDead: keep, Refused: s.refused, SoloPods: s.solo})
			got := renderDecide(s, plan)
			path := filepath.Join("testdata", "decide", s.file+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestDecideGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the plan:\n--- want\n%s--- got\n%s", path, want, got)
			}
		})
	}
}
