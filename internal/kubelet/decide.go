package kubelet

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
)

// ActionKind is what an Action does.
type ActionKind string

// Action kinds, applied in plan order.
const (
	// ActStop stops a running container (SIGTERM, kill after grace); the
	// dead container stays for its logs until garbage-collected.
	ActStop ActionKind = "stop"
	// ActRemove removes a container (killing it if it still runs).
	ActRemove ActionKind = "remove"
	// ActStartInfra starts the pod's infra container.
	ActStartInfra ActionKind = "start-infra"
	// ActStart starts app container Name (after ensuring its image).
	ActStart ActionKind = "start"
)

// Action is one step of a plan.
type Action struct {
	Kind    ActionKind
	Name    string // api container name, or InfraName
	ID      string // the container acted on (stop, remove)
	Attempt int    // start: the attempt label of the new container
	Reason  string // why, for logs and events
}

func (a Action) String() string {
	s := string(a.Kind) + " " + a.Name
	if a.Kind == ActStart || a.Kind == ActStartInfra {
		s += "#" + strconv.Itoa(a.Attempt)
	} else {
		s += " " + shortID(a.ID)
	}
	if a.Reason != "" {
		s += " (" + a.Reason + ")"
	}
	return s
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// PullState remembers failed pulls of one container's image.
type PullState struct {
	Failures int
	Last     time.Time
	Message  string
}

// Input is everything Decide looks at.
type Input struct {
	// Pod is the desired pod; nil when it is gone (deleted or bound elsewhere).
	Pod *api.Pod
	// Containers are the runtime's containers with this pod's namespace and
	// name (any uid).
	Containers []runtime.Container
	Now        time.Time
	InfraImage string
	// Network is the pod network infra containers must be on.
	Network PodNetwork
	// Pulls maps container name to its failed pulls (for back-off).
	Pulls map[string]PullState
	// Unhealthy maps container IDs that failed their liveness probe to the
	// failure message.
	Unhealthy map[string]string
	// KeepDead is how many dead containers to keep per pod container.
	KeepDead int
	// Refused, when set, is why this minion's admission refuses the pod
	// (see Admit): nothing of it starts, what runs of it is stopped, and
	// every container waits with reason "PodRefused: <Refused>".
	Refused string
	// SoloPods lets a pod that Solo allows run without an infra container
	// (Config.PodInfra auto).
	SoloPods bool
}

// Plan is what Decide wants done.
type Plan struct {
	Actions []Action
	// Waiting maps container name to why it is not running (CrashLoopBackOff...).
	Waiting map[string]string
	// RequeueAfter, when > 0, asks for another sync after that long.
	RequeueAfter time.Duration
	// Solo: the pod runs without an infra container, its app container
	// holding the network (see Solo); its starts are solo app specs.
	Solo bool
}

// Back-off bounds for crashing containers and failing pulls.
const (
	BackoffBase   = 10 * time.Second
	BackoffMax    = 5 * time.Minute
	StableRunTime = 10 * time.Minute
)

// Backoff is the delay before attempt n+1 after n consecutive failures:
// 0 for the first restart, then 10 s doubling to 5 min.
func Backoff(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := BackoffBase
	for i := 1; i < n && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

// PullBackoff is the delay after n failed pulls: 10 s doubling to 5 min.
func PullBackoff(n int) time.Duration { return Backoff(n) }

// Attempt reads a container's attempt label (0 when missing).
func Attempt(c runtime.Container) int {
	n, _ := strconv.Atoi(c.Labels[runtime.LabelAttempt])
	return n
}

// byNewest sorts containers newest attempt first (creation time breaks ties).
func byNewest(cs []runtime.Container) {
	sort.SliceStable(cs, func(i, j int) bool {
		ai, aj := Attempt(cs[i]), Attempt(cs[j])
		if ai != aj {
			return ai > aj
		}
		return cs[i].CreatedAt.After(cs[j].CreatedAt)
	})
}

// ShouldRestart applies the pod's restart policy to an exit code.
func ShouldRestart(p api.RestartPolicy, exitCode int) bool {
	switch {
	case p.Never != nil:
		return false
	case p.OnFailure != nil:
		return exitCode != 0
	default:
		return true
	}
}

// Decide computes the plan for one pod. It is pure. It runs in phases, each
// appending to the plan in this order:
//
//   - stale: containers of another pod (deleted, or replaced by a new uid)
//     and containers created but never started are removed;
//   - refused: a pod refused by admission stops and waits (and ends there);
//   - unwanted: containers no longer in the manifest are removed;
//   - infra: the infra container is kept, or replaced (stopping every
//     running app first), or stopped when the pod has finished; a solo pod
//     (see isSolo) has none, and its dead infras are removed;
//   - garbage and apps: per container, dead instances beyond KeepDead are
//     removed, then the app is started, restarted, backed off or stopped.
//
// testdata/decide/*.txt pins the plans of a table of inputs.
func Decide(in Input) Plan {
	d := &decider{in: in, plan: Plan{Waiting: map[string]string{}}}
	byName := d.stale()
	if in.Pod == nil {
		return d.plan
	}
	if in.Refused != "" {
		refuse(&d.plan, in.Pod, byName, in.Refused)
		return d.plan
	}
	for n := range byName {
		byNewest(byName[n])
	}
	d.unwanted(byName)
	finished := podFinished(in.Pod, byName)
	d.plan.Solo = isSolo(in, byName)
	newInfra := false
	if !d.plan.Solo {
		newInfra = d.infra(byName, finished)
		d.garbage(byName[InfraName])
	}
	for i := range in.Pod.DesiredState.Manifest.Containers {
		c := &in.Pod.DesiredState.Manifest.Containers[i]
		d.garbage(byName[c.Name])
		d.app(c, byName[c.Name], finished, newInfra)
	}
	if d.plan.Solo {
		// Dead infras go once no app runs in their namespace any more.
		for _, c := range byName[InfraName] {
			d.add(Action{Kind: ActRemove, Name: InfraName, ID: c.ID, Reason: "the pod holds its own network"})
		}
	}
	return d.plan
}

// isSolo reports whether the pod runs without an infra container: the
// kubelet allows it, Solo allows it, and no infra of the pod runs (a pod
// started with one keeps it, its apps undisturbed).
func isSolo(in Input, byName map[string][]runtime.Container) bool {
	if !in.SoloPods || !Solo(in.Pod, in.Network) {
		return false
	}
	for _, c := range byName[InfraName] {
		if c.State == runtime.StateRunning {
			return false
		}
	}
	return true
}

// decider holds one Decide call's input and the plan its phases build.
type decider struct {
	in   Input
	plan Plan
}

// hash is the spec hash app container c's running instance must carry.
func (d *decider) hash(c *api.Container) string {
	if d.plan.Solo {
		return HashSolo(d.in.Pod, c, d.in.Network)
	}
	return HashContainer(c)
}

func (d *decider) add(a Action) { d.plan.Actions = append(d.plan.Actions, a) }

// requeue asks for another sync after wait, keeping the shortest wait.
func (d *decider) requeue(wait time.Duration) {
	if wait > 0 && (d.plan.RequeueAfter == 0 || wait < d.plan.RequeueAfter) {
		d.plan.RequeueAfter = wait
	}
}

// stopRemove stops c if it runs, then removes it.
func (d *decider) stopRemove(c runtime.Container, why string) {
	if c.State == runtime.StateRunning {
		d.add(Action{Kind: ActStop, Name: c.Labels[runtime.LabelContainerName], ID: c.ID, Reason: why})
	}
	d.add(Action{Kind: ActRemove, Name: c.Labels[runtime.LabelContainerName], ID: c.ID, Reason: why})
}

// stale sorts the containers into this pod's, by container name, and
// plans the removal of the rest: those of another uid or of no pod
// (apps before infras, so nothing loses its network while running), and
// those created but never started.
func (d *decider) stale() map[string][]runtime.Container {
	byName := map[string][]runtime.Container{}
	var stale []runtime.Container
	for _, c := range d.in.Containers {
		if d.in.Pod == nil || c.Labels[runtime.LabelPodUID] != d.in.Pod.UID {
			stale = append(stale, c)
			continue
		}
		if c.State == runtime.StateCreated {
			// Created but never started (the kubelet stopped in between):
			// it never ran, so it is not a restart; clear it away.
			d.add(Action{Kind: ActRemove, Name: c.Labels[runtime.LabelContainerName], ID: c.ID, Reason: "never started"})
			continue
		}
		n := c.Labels[runtime.LabelContainerName]
		byName[n] = append(byName[n], c)
	}
	sort.SliceStable(stale, func(i, j int) bool {
		return stale[i].Labels[runtime.LabelContainerName] != InfraName && stale[j].Labels[runtime.LabelContainerName] == InfraName
	})
	why := "pod deleted"
	if d.in.Pod != nil {
		why = "pod replaced"
	}
	for _, c := range stale {
		d.stopRemove(c, why)
	}
	return byName
}

// unwanted plans the removal of containers no longer in the manifest.
func (d *decider) unwanted(byName map[string][]runtime.Container) {
	desired := map[string]bool{InfraName: true}
	for _, c := range d.in.Pod.DesiredState.Manifest.Containers {
		desired[c.Name] = true
	}
	var gone []string
	for n := range byName {
		if !desired[n] {
			gone = append(gone, n)
		}
	}
	sort.Strings(gone)
	for _, n := range gone {
		for _, c := range byName[n] {
			d.stopRemove(c, "not in the pod's manifest")
		}
	}
}

// podFinished reports whether every app container ended and may not
// restart: then a dead infra is left alone and nothing starts.
func podFinished(pod *api.Pod, byName map[string][]runtime.Container) bool {
	m := pod.DesiredState.Manifest
	if len(m.Containers) == 0 {
		return false
	}
	for _, c := range m.Containers {
		cs := byName[c.Name]
		if len(cs) == 0 || cs[0].State == runtime.StateRunning || ShouldRestart(m.RestartPolicy, cs[0].ExitCode) {
			return false
		}
	}
	return true
}

// infra plans the infra container: the newest running one is kept when its
// spec is current and the pod has not finished; every other running one
// stops. It reports whether a new infra starts, in which case every running
// app (which would lose its network) is stopped before the old infra.
func (d *decider) infra(byName map[string][]runtime.Container, finished bool) (newInfra bool) {
	infraHash := HashInfra(d.in.Pod, d.in.InfraImage, d.in.Network)
	infras := byName[InfraName]
	var infraOK bool
	var stops []Action
	i := 0
	for _, c := range infras {
		if c.State != runtime.StateRunning {
			continue
		}
		first := i == 0
		i++
		if first && c.Labels[runtime.LabelSpecHash] == infraHash && !finished {
			infraOK = true
			continue
		}
		reason := "infra changed"
		if finished {
			reason = "pod finished"
		}
		stops = append(stops, Action{Kind: ActStop, Name: InfraName, ID: c.ID, Reason: reason})
	}
	newInfra = !infraOK && !finished
	if newInfra {
		for _, c := range d.in.Pod.DesiredState.Manifest.Containers {
			for _, x := range byName[c.Name] {
				if x.State == runtime.StateRunning {
					d.add(Action{Kind: ActStop, Name: c.Name, ID: x.ID, Reason: "infra container restarted"})
				}
			}
		}
	}
	d.plan.Actions = append(d.plan.Actions, stops...)
	if newInfra {
		attempt := 0
		if len(infras) > 0 {
			attempt = Attempt(infras[0]) + 1
		}
		d.add(Action{Kind: ActStartInfra, Name: InfraName, Attempt: attempt})
	}
	return newInfra
}

// garbage plans the removal of the dead instances of one container beyond
// the newest KeepDead (cs is sorted newest first).
func (d *decider) garbage(cs []runtime.Container) {
	dead := 0
	for _, c := range cs {
		if c.State == runtime.StateRunning {
			continue
		}
		dead++
		if dead > d.in.KeepDead {
			d.add(Action{Kind: ActRemove, Name: c.Labels[runtime.LabelContainerName], ID: c.ID, Reason: "garbage collection"})
		}
	}
}

// app plans one app container c whose instances are cs (newest first):
// duplicates stop; then it starts (new, or with a new infra), restarts
// after an exit (subject to the restart policy and crash back-off), is
// replaced when its spec changed, or restarts after a failed liveness probe.
func (d *decider) app(c *api.Container, cs []runtime.Container, finished, newInfra bool) {
	var run *runtime.Container
	for j := range cs {
		if cs[j].State != runtime.StateRunning {
			continue
		}
		if run == nil {
			run = &cs[j]
		} else if !newInfra {
			d.add(Action{Kind: ActStop, Name: c.Name, ID: cs[j].ID, Reason: "duplicate"})
		}
	}
	next := 0
	if len(cs) > 0 {
		next = Attempt(cs[0]) + 1
	}
	policy := d.in.Pod.DesiredState.Manifest.RestartPolicy
	switch {
	case finished:
		// Nothing restarts.
	case newInfra && (run != nil || len(cs) == 0):
		d.start(c.Name, next, "")
	case run == nil && len(cs) > 0: // exited (also under a new infra)
		d.restart(c.Name, cs[0], next)
	case run == nil:
		d.start(c.Name, next, "")
	case run.Labels[runtime.LabelSpecHash] != d.hash(c):
		d.add(Action{Kind: ActStop, Name: c.Name, ID: run.ID, Reason: "spec changed"})
		d.start(c.Name, next, "spec changed")
	case d.in.Unhealthy[run.ID] != "":
		d.add(Action{Kind: ActStop, Name: c.Name, ID: run.ID, Reason: "liveness probe failed: " + d.in.Unhealthy[run.ID]})
		if ShouldRestart(policy, 137) {
			d.start(c.Name, next, "liveness probe failed")
		}
	}
}

// restart plans the restart of app name after its newest instance last
// exited: none when the restart policy says so, a wait while it is in
// crash back-off (reset by a run of StableRunTime), else a start.
func (d *decider) restart(name string, last runtime.Container, next int) {
	if !ShouldRestart(d.in.Pod.DesiredState.Manifest.RestartPolicy, last.ExitCode) {
		return
	}
	n := Attempt(last) + 1 // consecutive failures so far
	if !last.StartedAt.IsZero() && !last.FinishedAt.IsZero() && last.FinishedAt.Sub(last.StartedAt) >= StableRunTime {
		n = 0
	}
	if wait := Backoff(n-1) - d.in.Now.Sub(last.FinishedAt); n > 1 && wait > 0 {
		d.plan.Waiting[name] = fmt.Sprintf("CrashLoopBackOff: back-off %s restarting failed container %s (exit code %d)", Backoff(n-1), name, last.ExitCode)
		d.requeue(wait)
		return
	}
	d.start(name, next, fmt.Sprintf("restart after exit code %d", last.ExitCode))
}

// start plans the start of app name as attempt next, unless its image's
// pull is in back-off: then it waits.
func (d *decider) start(name string, next int, reason string) {
	if ps, ok := d.in.Pulls[name]; ok && ps.Failures > 0 {
		if wait := PullBackoff(ps.Failures) - d.in.Now.Sub(ps.Last); wait > 0 {
			d.plan.Waiting[name] = "ErrImagePull: " + ps.Message
			d.requeue(wait)
			return
		}
	}
	d.add(Action{Kind: ActStart, Name: name, Attempt: next, Reason: reason})
}

// refuse plans a refused pod: its running containers stop (apps before the
// infra, kept dead for their logs), nothing starts, every container waits
// with the reason.
func refuse(plan *Plan, pod *api.Pod, byName map[string][]runtime.Container, why string) {
	reason := refusedReason + ": " + why
	plan.Waiting[InfraName] = reason
	var names []string
	for n := range byName {
		if n != InfraName {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	names = append(names, InfraName)
	for _, n := range names {
		for _, c := range byName[n] {
			if c.State == runtime.StateRunning {
				plan.Actions = append(plan.Actions, Action{Kind: ActStop, Name: n, ID: c.ID, Reason: "refused by admission"})
			}
		}
	}
	for _, c := range pod.DesiredState.Manifest.Containers {
		plan.Waiting[c.Name] = reason
	}
}
