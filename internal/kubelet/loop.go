package kubelet

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/logging"
	"kubelite/internal/runtime"
)

// Enqueue asks for a sync of the pod with key namespace/id.
func (k *Kubelet) Enqueue(key string) { k.queue.Add(key) }

// podChanged is the pod cache's change callback: it queues the pod unless
// the cache now holds exactly the version this kubelet's own status write
// made. That version's spec is the one the writing sync acted on (the write
// was a compare-and-swap on it) and its status is what that sync computed,
// so syncing it again would find nothing to do: at 30,000 pods that is
// 30,000 syncs (container list, decision, status) saved.
func (k *Kubelet) podChanged(key string) {
	if o, ok := k.pods.Get(key); ok {
		rv := o.Meta().ResourceVersion
		k.mu.Lock()
		own := rv != 0 && k.written[key] == rv
		k.mu.Unlock()
		if own {
			return
		}
	}
	k.queue.Add(key)
}

// Run registers the minion, then syncs pods until ctx ends. started is
// called once the pod caches are loaded.
func (k *Kubelet) Run(ctx context.Context, started func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer k.clearPodMetrics()
	// Probe workers are stopped and joined last, once no sync can start one.
	defer k.prober.close()
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, inf := range k.own {
		wg.Add(1)
		go func() { defer wg.Done(); inf.Run(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); k.heartbeatLoop(ctx) }()
	for _, inf := range k.own {
		if !inf.WaitSynced(ctx) {
			return nil
		}
	}
	if started != nil {
		started()
	}
	k.log.Info("kubelet started")
	if k.net != nil {
		wg.Add(1)
		go func() { defer wg.Done(); k.net.run(ctx) }()
	}
	// Subscribe to container events before any sync runs: a container a
	// sync starts must not stop before the subscription exists, unseen
	// until the next resync (an hour in tests, seconds in production).
	events, eventsErr := k.cfg.Runtime.Events(ctx)
	wg.Add(1)
	go func() { defer wg.Done(); k.dispatch(ctx) }()
	wg.Add(1)
	go func() { defer wg.Done(); k.eventsLoop(ctx, events, eventsErr) }()
	k.resyncLoop(ctx)
	k.queue.ShutDown()
	return nil
}

// dispatch hands each queued key to its own goroutine; the queue never
// gives out a key that is being processed.
func (k *Kubelet) dispatch(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		key, ok := k.queue.Get()
		if !ok {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer k.queue.Done(key)
			if err := k.SyncPod(ctx, key); err != nil && ctx.Err() == nil {
				k.syncFailed(key, err)
				k.queue.AddRateLimited(key)
				return
			}
			k.syncOK(key)
			k.queue.Forget(key)
		}()
	}
}

// eventsLoop queues the pod of every container that stops running, from
// the subscription Run made (ch, err) and then from new ones whenever a
// subscription ends. Events between two subscriptions are lost, so after a
// new one every pod is queued (level-triggered: the syncs find what
// changed).
func (k *Kubelet) eventsLoop(ctx context.Context, ch <-chan runtime.Event, err error) {
	for first := true; ctx.Err() == nil; first = false {
		if !first {
			ch, err = k.cfg.Runtime.Events(ctx)
			if err == nil {
				for _, o := range k.pods.List() {
					k.queue.Add(api.Key(o))
				}
			}
		}
		if err == nil {
			for ev := range ch {
				if ev.Labels[runtime.LabelMinion] != k.cfg.NodeName {
					continue
				}
				if ns, name := ev.Labels[runtime.LabelPodNamespace], ev.Labels[runtime.LabelPodName]; name != "" {
					k.queue.Add(ns + "/" + name)
				}
			}
		} else {
			k.log.WithError(err).Warn("container events")
		}
		select {
		case <-ctx.Done():
		case <-k.cfg.Clock.After(time.Second):
		}
	}
}

// resyncLoop queues every pod and runs housekeeping every SyncFrequency.
func (k *Kubelet) resyncLoop(ctx context.Context) {
	k.housekeeping(ctx)
	for {
		// Jitter spreads the work of many kubelets in one process.
		d := k.cfg.SyncFrequency + time.Duration(rand.Int64N(int64(k.cfg.SyncFrequency)/10+1))
		select {
		case <-ctx.Done():
			return
		case <-k.cfg.Clock.After(d):
		}
		for _, o := range k.pods.List() {
			k.queue.Add(api.Key(o))
		}
		k.housekeeping(ctx)
	}
}

// housekeeping queues pods whose containers run here but that are no longer
// bound here, and removes directories of pods that are gone.
func (k *Kubelet) housekeeping(ctx context.Context) {
	// Probe workers (and their failures) numbered after this mark may be of
	// containers started after the list: prune keeps them.
	before := k.prober.mark()
	cs, err := k.list(ctx, runtime.ListOptions{})
	if err != nil {
		k.log.WithError(err).Warn("housekeeping: list containers")
		return
	}
	uids := map[string]bool{}
	for _, o := range k.pods.List() {
		uids[o.Meta().UID] = true
	}
	live := map[string]bool{}
	queued := map[string]bool{}
	for _, c := range cs {
		uid := c.Labels[runtime.LabelPodUID]
		live[c.ID] = true
		if uids[uid] {
			continue
		}
		key := c.Labels[runtime.LabelPodNamespace] + "/" + c.Labels[runtime.LabelPodName]
		if !queued[key] {
			queued[key] = true
			k.queue.Add(key)
		}
	}
	k.prober.prune(live, before)
	k.mu.Lock()
	for id, f := range k.unhealthy {
		if !live[id] && f.seq <= before {
			delete(k.unhealthy, id)
		}
	}
	k.mu.Unlock()
	// Directories of pods with no containers and no pod object.
	entries, err := os.ReadDir(filepath.Join(k.cfg.RootDir, "pods"))
	if err != nil {
		return
	}
	withContainers := map[string]bool{}
	for _, c := range cs {
		withContainers[c.Labels[runtime.LabelPodUID]] = true
	}
	for _, e := range entries {
		if uid := e.Name(); !uids[uid] && !withContainers[uid] {
			if err := os.RemoveAll(PodDir(k.cfg.RootDir, uid)); err != nil {
				k.log.WithError(err).Warn("remove pod directory")
			}
		}
	}
}

// syncFailed warns of a pod's failed sync through the pod's Repeater: the
// first failure, then with backoff, instead of one line per retry.
func (k *Kubelet) syncFailed(key string, err error) {
	k.mu.Lock()
	r, ok := k.failing[key]
	if !ok {
		r = logging.NewRepeater(logging.RepeaterConfig{Log: k.log.WithField("pod", key), Clock: k.cfg.Clock,
			What: "sync pod " + key, Hint: "the pod's events (kubelite kubectl describe pod) and the master's reachability (kubelite doctor minion)"})
		k.failing[key] = r
	}
	k.mu.Unlock()
	r.Fail(err)
}

// syncOK ends a pod's failures: "recovered after" if it had any.
func (k *Kubelet) syncOK(key string) {
	k.mu.Lock()
	r, ok := k.failing[key]
	delete(k.failing, key)
	k.mu.Unlock()
	if ok {
		r.OK()
	}
}
