package kubelet

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"kubelite/internal/api"
	"kubelite/internal/runtime"
)

// apply carries out a plan, its actions in order, each by the phase of its
// kind: a run of stops (stopAll), remove, startInfra, startApp. Stops of a
// run go concurrently (each waits out its grace period); everything else
// runs in order. A failed infra start skips the app starts that need it.
// The app containers' events go to later.
func (k *Kubelet) apply(ctx context.Context, pod *api.Pod, plan Plan, nw PodNetwork, hostPaths map[string]string, later *pendingEvents) error {
	r := &applyRun{k: k, pod: pod, plan: plan, nw: nw, hostPaths: hostPaths, later: later, waitInfra: func() error { return nil }}
	defer r.releaseStart()
	for acts := plan.Actions; len(acts) > 0; {
		if n := stopRun(acts); n > 0 {
			r.stopAll(ctx, acts[:n])
			acts = acts[n:]
			continue
		}
		a := acts[0]
		acts = acts[1:]
		k.logAction(pod, a)
		if err := r.holdStart(ctx, a); err != nil {
			return errors.Join(append(r.errs, err)...)
		}
		switch a.Kind {
		case ActRemove:
			r.remove(ctx, a)
		case ActStartInfra:
			r.startInfra(ctx, a)
		case ActStart:
			r.startApp(ctx, a)
		}
	}
	if err := r.waitInfra(); err != nil {
		r.errs = append(r.errs, err)
	}
	return errors.Join(r.errs...)
}

// applyRun is one apply of a plan: what its phases share.
type applyRun struct {
	k         *Kubelet
	pod       *api.Pod
	plan      Plan // its Waiting gets the reasons of containers not started
	nw        PodNetwork
	hostPaths map[string]string
	later     *pendingEvents

	errs        []error
	infraID     string       // the infra the app containers join, once known
	infraFailed bool         // no infra to join: app starts are skipped
	waitInfra   func() error // waits for the infra this plan started (nil error if none)
	holding     bool         // holds a slot of k.starts (MaxParallelStarts)
}

// stopRun returns how many actions at the head of acts are stops to run
// together: consecutive stops, all of the infra or all of app containers.
func stopRun(acts []Action) int {
	n := 0
	for n < len(acts) && acts[n].Kind == ActStop && (acts[n].Name == InfraName) == (acts[0].Name == InfraName) {
		n++
	}
	return n
}

// stopAll stops the containers of a run of stops concurrently and returns
// once every one has stopped or failed to.
func (r *applyRun) stopAll(ctx context.Context, stops []Action) {
	var wg sync.WaitGroup
	errc := make(chan error, len(stops))
	for _, a := range stops {
		if a.Name != InfraName {
			r.k.event(ctx, r.pod, a.Name, EventKilling, "Stopping container "+a.Name)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.k.cfg.Runtime.Stop(ctx, a.ID, r.k.cfg.GracePeriod); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				errc <- fmt.Errorf("stop %s: %w", a.Name, err)
			}
		}()
		r.k.logAction(r.pod, a)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		r.errs = append(r.errs, err)
	}
}

// holdStart takes a slot of k.starts before the plan's first start; the
// slot is held until apply returns. It fails only when ctx ends.
func (r *applyRun) holdStart(ctx context.Context, a Action) error {
	if (a.Kind != ActStart && a.Kind != ActStartInfra) || r.holding {
		return nil
	}
	select {
	case r.k.starts <- struct{}{}:
		r.holding = true
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (r *applyRun) releaseStart() {
	if r.holding {
		<-r.k.starts
	}
}

func (r *applyRun) remove(ctx context.Context, a Action) {
	if err := r.k.cfg.Runtime.Remove(ctx, a.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		r.errs = append(r.errs, fmt.Errorf("remove %s: %w", a.Name, err))
	}
}

// startInfra creates the infra container and starts it in the background:
// app containers are created meanwhile and started once it runs
// (waitInfra).
func (r *applyRun) startInfra(ctx context.Context, a Action) {
	id, err := r.k.createInfra(ctx, r.pod, a.Attempt, r.nw)
	if err != nil {
		r.infraFailed = true
		r.infraError(ctx, err)
		r.errs = append(r.errs, err)
		return
	}
	r.infraID = id
	started := make(chan error, 1)
	go func() { started <- r.k.cfg.Runtime.Start(ctx, id) }()
	var once sync.Once
	var startErr error
	r.waitInfra = func() error {
		once.Do(func() {
			if startErr = <-started; startErr != nil {
				startErr = fmt.Errorf("start infra of %s: %w", api.Key(r.pod), startErr)
				r.infraError(ctx, startErr)
			}
		})
		return startErr
	}
}

// infraError reports an infra container that could not be created or started.
func (r *applyRun) infraError(ctx context.Context, err error) {
	r.plan.Waiting[InfraName] = "ErrRunContainer: " + err.Error()
	r.k.event(ctx, r.pod, InfraName, EventFailed, "start infra container: "+err.Error())
}

// startApp starts an app container in the pod's infra: the one this plan
// started, else the one running already; none means the app waits. A solo
// pod's app holds the pod network itself.
func (r *applyRun) startApp(ctx context.Context, a Action) {
	if r.plan.Solo {
		o := SpecOptions{Solo: true, Network: r.nw, HostPaths: r.hostPaths}
		if err := r.k.startContainer(ctx, r.pod, a, o, r.plan.Waiting, r.waitInfra, r.later); err != nil {
			r.errs = append(r.errs, err)
		}
		return
	}
	if r.infraFailed {
		r.plan.Waiting[a.Name] = "ContainerCreating"
		return
	}
	if r.infraID == "" {
		id, err := r.k.runningInfra(ctx, r.pod)
		if err != nil {
			r.errs = append(r.errs, err)
			r.infraFailed = true
			return
		}
		r.infraID = id
	}
	o := SpecOptions{InfraID: r.infraID, HostPaths: r.hostPaths}
	if err := r.k.startContainer(ctx, r.pod, a, o, r.plan.Waiting, r.waitInfra, r.later); err != nil {
		r.errs = append(r.errs, err)
		if r.waitInfra() != nil {
			r.infraFailed = true
		}
	}
}
