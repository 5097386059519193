package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
)

// network is the pod network infra containers must be on now.
func (k *Kubelet) network() PodNetwork {
	if k.net == nil {
		return PodNetwork{}
	}
	return k.net.network()
}

// podFromCache returns a copy of the pod with key, or nil.
func (k *Kubelet) podFromCache(key string) *api.Pod {
	o, ok := k.pods.Get(key)
	if !ok {
		return nil
	}
	p, ok := o.(*api.Pod)
	if !ok || p.DesiredState.Host != k.cfg.NodeName {
		return nil
	}
	return api.Copy(p)
}

// SyncPod converges one pod: decide, apply, push status.
func (k *Kubelet) SyncPod(ctx context.Context, key string) error {
	if k.net != nil && !k.net.isReady() {
		// Judged against no network, every running infra would look
		// changed: wait (every pod is queued once the network exists).
		return k.waitForNetwork(ctx, key)
	}
	pod := k.podFromCache(key)
	pk := api.ParseKey(key)
	cs, err := k.list(ctx, runtime.ListOptions{Labels: map[string]string{runtime.LabelPodNamespace: pk.NamespaceOrDefault(), runtime.LabelPodName: pk.ID}})
	if err != nil {
		return fmt.Errorf("sync pod %s: %w", key, err)
	}
	in := Input{Pod: pod, Containers: cs, Now: k.cfg.Clock.Now(), InfraImage: k.cfg.InfraImage, KeepDead: k.cfg.KeepDead, Network: k.network(), SoloPods: k.cfg.PodInfra != PodInfraAlways}
	var hostPaths map[string]string
	if pod != nil {
		hostPaths, in.Refused = k.admit(pod)
		k.noteRefusal(ctx, key, pod, in.Refused)
	}
	k.mu.Lock()
	if pod != nil {
		in.Pulls = cloneMap(k.pulls[pod.UID])
	}
	in.Unhealthy = map[string]string{}
	for _, c := range cs {
		if f, ok := k.unhealthy[c.ID]; ok {
			in.Unhealthy[c.ID] = f.msg
		}
	}
	k.mu.Unlock()
	plan := Decide(in)
	if pod != nil {
		k.notePodSeen(key, cs)
		k.backOffEvents(ctx, pod, plan.Waiting)
	}
	t0 := time.Now()
	var later pendingEvents
	applyErr := k.apply(ctx, pod, plan, in.Network, hostPaths, &later)
	applied := time.Since(t0)
	// After the status push (or on any way out): see pendingEvents.
	defer later.record(ctx, k, pod)
	if pod == nil {
		k.forget(key, cs)
		return applyErr
	}
	if plan.RequeueAfter > 0 {
		// Decided against in.Now: a deadline, however long applying took.
		k.queue.AddAt(key, in.Now.Add(plan.RequeueAfter))
	}
	// Re-read what runs now and push the status.
	if len(plan.Actions) > 0 {
		if cs, err = k.list(ctx, runtime.ListOptions{PodUID: pod.UID}); err != nil {
			return errors.Join(applyErr, fmt.Errorf("sync pod %s: %w", key, err))
		}
	}
	k.prober.ensure(key, pod, cs)
	k.mu.Lock()
	k.waiting[key] = plan.Waiting
	k.mu.Unlock()
	status := PodStatus(StatusInput{Pod: pod, Containers: cs, Waiting: plan.Waiting, Host: k.cfg.NodeName, HostIP: k.cfg.HostIP})
	k.notePodStatus(key, status.Status)
	t1 := time.Now()
	if err := k.pushStatus(ctx, pod, status); err != nil {
		return errors.Join(applyErr, err)
	}
	if len(plan.Actions) > 0 {
		k.log.WithFields(logrus.Fields{"pod": key, "actions": len(plan.Actions), "apply": applied.Round(time.Millisecond),
			"relist": t1.Sub(t0.Add(applied)).Round(time.Millisecond), "push": time.Since(t1).Round(time.Millisecond)}).Debug("pod synced")
	}
	return applyErr
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// forget drops what the kubelet remembers of a pod that is gone and removes
// its directories once its containers are gone.
func (k *Kubelet) forget(key string, cs []runtime.Container) {
	uids := map[string]bool{}
	for _, c := range cs {
		uids[c.Labels[runtime.LabelPodUID]] = true
	}
	k.mu.Lock()
	for uid := range uids {
		delete(k.pulls, uid)
	}
	for _, c := range cs {
		delete(k.unhealthy, c.ID)
	}
	k.mu.Unlock()
	k.prober.forgetPod(key)
	k.mu.Lock()
	delete(k.waiting, key)
	delete(k.written, key)
	delete(k.refused, key)
	k.forgetPodMetricsLocked(key)
	k.mu.Unlock()
	for uid := range uids {
		if uid == "" {
			continue
		}
		if err := os.RemoveAll(PodDir(k.cfg.RootDir, uid)); err != nil {
			k.log.WithError(err).WithField("pod", key).Warn("remove pod directory")
		}
	}
}
