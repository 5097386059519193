package kubelet

import (
	"kubelite/internal/api"
	"kubelite/internal/runtime"
)

// StatusInput is what PodStatus looks at.
type StatusInput struct {
	Pod        *api.Pod
	Containers []runtime.Container // the pod's containers (this uid)
	Waiting    map[string]string   // container name -> waiting reason
	Host       string
	HostIP     string
}

// containerStatus is the status of a container's newest instance.
func containerStatus(newest *runtime.Container, waiting, podIP string) api.ContainerStatus {
	var st api.ContainerStatus
	if newest != nil {
		st.RestartCount = Attempt(*newest)
		st.Image = newest.Image
		st.ContainerID = "docker://" + newest.ID
		st.PodIP = podIP
	}
	switch {
	case waiting != "":
		st.State.Waiting = &api.ContainerStateWaiting{Reason: waiting}
	case newest == nil:
		st.State.Waiting = &api.ContainerStateWaiting{Reason: "ContainerCreating"}
	case newest.State == runtime.StateRunning:
		st.State.Running = &api.ContainerStateRunning{StartedAt: newest.StartedAt}
	case newest.State == runtime.StateCreated:
		st.State.Waiting = &api.ContainerStateWaiting{Reason: "ContainerCreating"}
	default:
		reason := "Completed"
		switch {
		case newest.OOMKilled:
			reason = "OOMKilled"
		case newest.ExitCode != 0:
			reason = "Error"
		}
		st.State.Termination = &api.ContainerStateTerminated{
			ExitCode: newest.ExitCode, Reason: reason, Message: newest.Error,
			StartedAt: newest.StartedAt, FinishedAt: newest.FinishedAt,
		}
	}
	return st
}

// PodStatus computes a pod's currentState. It is pure.
//
// The pod's address and its "net" entry are those of the container holding
// its network: the infra, or a solo pod's app (see netHolder).
//
// Phase: Running when the infra and every app container run (or are being
// restarted after having run; a solo pod's app being restarted counts); Pending while some container has never run;
// Succeeded / Failed when every app container ended and none will restart
// (Failed when any ended non-zero). The v1beta1 status word follows:
// Pending -> Waiting, Running -> Running, Succeeded/Failed -> Terminated.
func PodStatus(in StatusInput) api.PodState {
	pod := in.Pod
	byName := podContainers(pod, in.Containers)
	out := api.PodState{Host: in.Host, HostIP: in.HostIP, Info: make(api.PodInfo, 0, 1+len(pod.DesiredState.Manifest.Containers))}
	holder, solo := netHolder(pod, byName)
	if holder != nil && holder.State == runtime.StateRunning {
		out.PodIP = holder.IP
	}
	out.Info.Set(InfraStatusName, containerStatus(holder, in.Waiting[InfraName], out.PodIP))

	policy := pod.DesiredState.Manifest.RestartPolicy
	allRunning, neverRan, done, failed := true, false, true, false
	for _, c := range pod.DesiredState.Manifest.Containers {
		var newest *runtime.Container
		if cs := byName[c.Name]; len(cs) > 0 {
			newest = &cs[0]
		}
		st := containerStatus(newest, in.Waiting[c.Name], out.PodIP)
		out.Info.Set(c.Name, st)
		if newest == nil {
			neverRan, allRunning, done = true, false, false
			continue
		}
		if newest.State != runtime.StateRunning {
			allRunning = false
			if newest.State == runtime.StateCreated || newest.StartedAt.IsZero() {
				neverRan = true
			}
			if newest.State == runtime.StateExited && !ShouldRestart(policy, newest.ExitCode) {
				if newest.ExitCode != 0 {
					failed = true
				}
			} else {
				done = false
			}
		} else {
			done = false
		}
	}
	// A solo pod's network comes back with its app's restart.
	infraRunning := holder != nil && (holder.State == runtime.StateRunning || solo)
	switch {
	case len(pod.DesiredState.Manifest.Containers) > 0 && done:
		out.Phase = api.PodPhaseSucceeded
		if failed {
			out.Phase = api.PodPhaseFailed
		}
		out.Status = api.PodTerminated
	case allRunning && infraRunning:
		out.Phase, out.Status = api.PodPhaseRunning, api.PodRunning
	case !neverRan && infraRunning:
		// Every container has run; some are being restarted.
		out.Phase, out.Status = api.PodPhaseRunning, api.PodRunning
	default:
		out.Phase, out.Status = api.PodPhasePending, api.PodWaiting
	}
	return out
}

// netHolder returns the newest instance of the container that holds the
// pod's network, and whether that is a solo pod's app container (its newest
// instance is labelled LabelOwnNetwork); else the newest infra (nil when
// none). byName holds the pod's containers by name, newest first.
func netHolder(pod *api.Pod, byName map[string][]runtime.Container) (*runtime.Container, bool) {
	if m := pod.DesiredState.Manifest; len(m.Containers) == 1 {
		if cs := byName[m.Containers[0].Name]; len(cs) > 0 && cs[0].Labels[LabelOwnNetwork] == "true" {
			return &cs[0], true
		}
	}
	if cs := byName[InfraName]; len(cs) > 0 {
		return &cs[0], false
	}
	return nil, false
}

// PodIP returns the address of pod's running network holder among cs (any
// pods' containers; "" when none runs).
func PodIP(pod *api.Pod, cs []runtime.Container) string {
	if h, _ := netHolder(pod, podContainers(pod, cs)); h != nil && h.State == runtime.StateRunning {
		return h.IP
	}
	return ""
}

// podContainers groups pod's containers among cs (this uid) by container
// name, newest first.
func podContainers(pod *api.Pod, cs []runtime.Container) map[string][]runtime.Container {
	byName := map[string][]runtime.Container{}
	for _, c := range cs {
		if c.Labels[runtime.LabelPodUID] == pod.UID {
			n := c.Labels[runtime.LabelContainerName]
			byName[n] = append(byName[n], c)
		}
	}
	for n := range byName {
		byNewest(byName[n])
	}
	return byName
}
