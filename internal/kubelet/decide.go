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
}

// Plan is what Decide wants done.
type Plan struct {
	Actions []Action
	// Waiting maps container name to why it is not running (CrashLoopBackOff...).
	Waiting map[string]string
	// RequeueAfter, when > 0, asks for another sync after that long.
	RequeueAfter time.Duration
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

// Decide computes the plan for one pod. It is pure.
func Decide(in Input) Plan {
	plan := Plan{Waiting: map[string]string{}}
	requeue := func(d time.Duration) {
		if d > 0 && (plan.RequeueAfter == 0 || d < plan.RequeueAfter) {
			plan.RequeueAfter = d
		}
	}
	stopRemove := func(c runtime.Container, why string) {
		if c.State == runtime.StateRunning {
			plan.Actions = append(plan.Actions, Action{Kind: ActStop, Name: c.Labels[runtime.LabelContainerName], ID: c.ID, Reason: why})
		}
		plan.Actions = append(plan.Actions, Action{Kind: ActRemove, Name: c.Labels[runtime.LabelContainerName], ID: c.ID, Reason: why})
	}

	// Sort into this pod's containers and stale ones (other uid).
	byName := map[string][]runtime.Container{}
	var stale []runtime.Container
	for _, c := range in.Containers {
		if in.Pod == nil || c.Labels[runtime.LabelPodUID] != in.Pod.UID {
			stale = append(stale, c)
			continue
		}
		if c.State == runtime.StateCreated {
			// Created but never started (the kubelet stopped in between):
			// it never ran, so it is not a restart; clear it away.
			plan.Actions = append(plan.Actions, Action{Kind: ActRemove, Name: c.Labels[runtime.LabelContainerName], ID: c.ID, Reason: "never started"})
			continue
		}
		n := c.Labels[runtime.LabelContainerName]
		byName[n] = append(byName[n], c)
	}
	// Stop apps before infras so nothing loses its network while running.
	sort.SliceStable(stale, func(i, j int) bool {
		return stale[i].Labels[runtime.LabelContainerName] != InfraName && stale[j].Labels[runtime.LabelContainerName] == InfraName
	})
	why := "pod deleted"
	if in.Pod != nil {
		why = "pod replaced"
	}
	for _, c := range stale {
		stopRemove(c, why)
	}
	if in.Pod == nil {
		return plan
	}
	if in.Refused != "" {
		refuse(&plan, in.Pod, byName, in.Refused)
		return plan
	}
	for n := range byName {
		byNewest(byName[n])
	}
	pod := in.Pod
	desired := map[string]bool{InfraName: true}
	for _, c := range pod.DesiredState.Manifest.Containers {
		desired[c.Name] = true
	}
	// Containers no longer in the manifest go.
	var gone []string
	for n := range byName {
		if !desired[n] {
			gone = append(gone, n)
		}
	}
	sort.Strings(gone)
	for _, n := range gone {
		for _, c := range byName[n] {
			stopRemove(c, "not in the pod's manifest")
		}
	}

	// The pod is finished when every app container ended and may not
	// restart: then a dead infra is left alone.
	finished := len(pod.DesiredState.Manifest.Containers) > 0
	for _, c := range pod.DesiredState.Manifest.Containers {
		cs := byName[c.Name]
		if len(cs) == 0 || cs[0].State == runtime.StateRunning || ShouldRestart(pod.DesiredState.Manifest.RestartPolicy, cs[0].ExitCode) {
			finished = false
		}
	}

	// Infra container.
	infraHash := HashInfra(pod, in.InfraImage, in.Network)
	infras := byName[InfraName]
	var infraOK bool
	var running []runtime.Container
	for _, c := range infras {
		if c.State == runtime.StateRunning {
			running = append(running, c)
		}
	}
	var infraStops []Action
	for i, c := range running {
		if i == 0 && c.Labels[runtime.LabelSpecHash] == infraHash && !finished {
			infraOK = true
			continue
		}
		reason := "infra changed"
		if finished {
			reason = "pod finished"
		}
		infraStops = append(infraStops, Action{Kind: ActStop, Name: InfraName, ID: c.ID, Reason: reason})
	}
	newInfra := !infraOK && !finished
	if newInfra {
		// Every running app loses its network with the old infra: stop
		// them first, then the old infra.
		for _, c := range pod.DesiredState.Manifest.Containers {
			for _, x := range byName[c.Name] {
				if x.State == runtime.StateRunning {
					plan.Actions = append(plan.Actions, Action{Kind: ActStop, Name: c.Name, ID: x.ID, Reason: "infra container restarted"})
				}
			}
		}
	}
	plan.Actions = append(plan.Actions, infraStops...)
	if newInfra {
		attempt := 0
		if len(infras) > 0 {
			attempt = Attempt(infras[0]) + 1
		}
		plan.Actions = append(plan.Actions, Action{Kind: ActStartInfra, Name: InfraName, Attempt: attempt})
	}
	gc := func(cs []runtime.Container) {
		dead := 0
		for _, c := range cs {
			if c.State == runtime.StateRunning {
				continue
			}
			dead++
			if dead > in.KeepDead {
				plan.Actions = append(plan.Actions, Action{Kind: ActRemove, Name: c.Labels[runtime.LabelContainerName], ID: c.ID, Reason: "garbage collection"})
			}
		}
	}
	gc(infras)

	for i := range pod.DesiredState.Manifest.Containers {
		c := &pod.DesiredState.Manifest.Containers[i]
		cs := byName[c.Name]
		gc(cs)
		hash := HashContainer(c)
		var run *runtime.Container
		for j := range cs {
			if cs[j].State == runtime.StateRunning {
				if run == nil {
					run = &cs[j]
				} else if !newInfra {
					plan.Actions = append(plan.Actions, Action{Kind: ActStop, Name: c.Name, ID: cs[j].ID, Reason: "duplicate"})
				}
			}
		}
		next := 0
		if len(cs) > 0 {
			next = Attempt(cs[0]) + 1
		}
		start := func(reason string) {
			if ps, ok := in.Pulls[c.Name]; ok && ps.Failures > 0 {
				if wait := PullBackoff(ps.Failures) - in.Now.Sub(ps.Last); wait > 0 {
					plan.Waiting[c.Name] = "ErrImagePull: " + ps.Message
					requeue(wait)
					return
				}
			}
			plan.Actions = append(plan.Actions, Action{Kind: ActStart, Name: c.Name, Attempt: next, Reason: reason})
		}
		switch {
		case finished:
			// Nothing restarts.
		case newInfra:
			if run != nil || len(cs) == 0 {
				start("")
				break
			}
			fallthrough
		case run == nil && len(cs) > 0:
			last := cs[0]
			if !ShouldRestart(pod.DesiredState.Manifest.RestartPolicy, last.ExitCode) {
				break
			}
			n := Attempt(last) + 1 // consecutive failures so far
			if !last.StartedAt.IsZero() && !last.FinishedAt.IsZero() && last.FinishedAt.Sub(last.StartedAt) >= StableRunTime {
				n = 0
			}
			if wait := Backoff(n-1) - in.Now.Sub(last.FinishedAt); n > 1 && wait > 0 {
				plan.Waiting[c.Name] = fmt.Sprintf("CrashLoopBackOff: back-off %s restarting failed container %s (exit code %d)", Backoff(n-1), c.Name, last.ExitCode)
				requeue(wait)
				break
			}
			start(fmt.Sprintf("restart after exit code %d", last.ExitCode))
		case run == nil:
			start("")
		case run.Labels[runtime.LabelSpecHash] != hash:
			plan.Actions = append(plan.Actions, Action{Kind: ActStop, Name: c.Name, ID: run.ID, Reason: "spec changed"})
			start("spec changed")
		case in.Unhealthy[run.ID] != "":
			plan.Actions = append(plan.Actions, Action{Kind: ActStop, Name: c.Name, ID: run.ID, Reason: "liveness probe failed: " + in.Unhealthy[run.ID]})
			if ShouldRestart(pod.DesiredState.Manifest.RestartPolicy, 137) {
				start("liveness probe failed")
			}
		}
	}
	return plan
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
