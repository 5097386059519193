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
// Phase: Running when the infra and every app container run (or are being
// restarted after having run); Pending while some container has never run;
// Succeeded / Failed when every app container ended and none will restart
// (Failed when any ended non-zero). The v1beta1 status word follows:
// Pending -> Waiting, Running -> Running, Succeeded/Failed -> Terminated.
func PodStatus(in StatusInput) api.PodState {
	pod := in.Pod
	byName := map[string][]runtime.Container{}
	for _, c := range in.Containers {
		if c.Labels[runtime.LabelPodUID] != pod.UID {
			continue
		}
		n := c.Labels[runtime.LabelContainerName]
		byName[n] = append(byName[n], c)
	}
	for n := range byName {
		byNewest(byName[n])
	}
	out := api.PodState{Host: in.Host, HostIP: in.HostIP, Info: api.PodInfo{}}
	var infra *runtime.Container
	if cs := byName[InfraName]; len(cs) > 0 {
		infra = &cs[0]
		if infra.State == runtime.StateRunning {
			out.PodIP = infra.IP
		}
	}
	out.Info[InfraStatusName] = containerStatus(infra, in.Waiting[InfraName], out.PodIP)

	policy := pod.DesiredState.Manifest.RestartPolicy
	allRunning, neverRan, done, failed := true, false, true, false
	for _, c := range pod.DesiredState.Manifest.Containers {
		var newest *runtime.Container
		if cs := byName[c.Name]; len(cs) > 0 {
			newest = &cs[0]
		}
		st := containerStatus(newest, in.Waiting[c.Name], out.PodIP)
		out.Info[c.Name] = st
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
	infraRunning := infra != nil && infra.State == runtime.StateRunning
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
