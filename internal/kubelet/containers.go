package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/images"
	"kubelite/internal/runtime"
)

// list lists this minion's containers (see runtime.LabelMinion).
func (k *Kubelet) list(ctx context.Context, opts runtime.ListOptions) ([]runtime.Container, error) {
	labels := make(map[string]string, len(opts.Labels)+1)
	for key, v := range opts.Labels {
		labels[key] = v
	}
	labels[runtime.LabelMinion] = k.cfg.NodeName
	opts.Labels = labels
	return k.cfg.Runtime.List(ctx, opts)
}

// create creates (without starting) a container labelled with this minion's name.
func (k *Kubelet) create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	labels := make(map[string]string, len(spec.Labels)+1)
	for key, v := range spec.Labels {
		labels[key] = v
	}
	labels[runtime.LabelMinion] = k.cfg.NodeName
	spec.Labels = labels
	return k.cfg.Runtime.Create(ctx, spec)
}

// pendingEvents are the events of the app containers a sync created and
// started (Created, Started, Failed, in order). Each event is a store write;
// SyncPod records them after it pushed the pod's status, so that they do not
// delay the Running status the user waits for.
type pendingEvents []pendingEvent

type pendingEvent struct{ container, reason, msg string }

func (p *pendingEvents) add(container, reason, msg string) {
	*p = append(*p, pendingEvent{container, reason, msg})
}

// record records the pending events in order.
func (p pendingEvents) record(ctx context.Context, k *Kubelet, pod *api.Pod) {
	for _, e := range p {
		k.event(ctx, pod, e.container, e.reason, e.msg)
	}
}

func (k *Kubelet) logAction(pod *api.Pod, a Action) {
	name := "(gone)"
	if pod != nil {
		name = api.Key(pod)
	}
	k.log.WithField("pod", name).Debug(a.String())
}

// runningInfra returns the ID of the pod's running infra container.
func (k *Kubelet) runningInfra(ctx context.Context, pod *api.Pod) (string, error) {
	cs, err := k.list(ctx, runtime.ListOptions{PodUID: pod.UID, Running: true, Labels: map[string]string{runtime.LabelContainerName: InfraName}})
	if err != nil {
		return "", fmt.Errorf("find infra of %s: %w", api.Key(pod), err)
	}
	if len(cs) == 0 {
		return "", fmt.Errorf("pod %s has no running infra container", api.Key(pod))
	}
	return cs[0].ID, nil
}

// ensureInfraImage builds the infra image from the kubelite binary the first
// time it is needed.
func (k *Kubelet) ensureInfraImage(ctx context.Context) error {
	k.infraMu.Lock()
	defer k.infraMu.Unlock()
	ok, err := k.cfg.Runtime.HasImage(ctx, k.cfg.InfraImage)
	if err != nil || ok {
		return err
	}
	bin := k.cfg.InfraBinary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return fmt.Errorf("find own binary for the infra image: %w", err)
		}
	}
	spec, err := images.Spec(k.cfg.InfraImage, bin)
	if err != nil {
		return fmt.Errorf("infra image: %w", err)
	}
	k.log.WithField("image", k.cfg.InfraImage).Info("building the pod infra image from " + bin)
	return k.cfg.Runtime.BuildImage(ctx, spec)
}

// createInfra creates (without starting) the pod's infra container,
// building the infra image first when the engine lacks it.
func (k *Kubelet) createInfra(ctx context.Context, pod *api.Pod, attempt int, nw PodNetwork) (string, error) {
	spec := InfraSpec(pod, k.cfg.InfraImage, attempt, nw)
	id, err := k.create(ctx, spec)
	if errors.Is(err, runtime.ErrImageNotPresent) {
		// First pod on this minion: build the image, then try again.
		if err := k.ensureInfraImage(ctx); err != nil {
			return "", err
		}
		id, err = k.create(ctx, spec)
	}
	if err != nil {
		return "", fmt.Errorf("create infra of %s: %w", api.Key(pod), err)
	}
	return id, nil
}

// ensureImage applies the pull policy; a failed pull is remembered for back-off.
func (k *Kubelet) ensureImage(ctx context.Context, pod *api.Pod, c *api.Container) (waiting string, err error) {
	policy := c.ImagePullPolicy
	if policy == "" {
		policy = api.PullIfNotPresent
	}
	present := false
	if policy != api.PullAlways {
		if present, err = k.cfg.Runtime.HasImage(ctx, c.Image); err != nil {
			return "", fmt.Errorf("image %s: %w", c.Image, err)
		}
	}
	if present {
		return "", nil
	}
	if policy == api.PullNever {
		return "ErrImageNeverPull: image " + c.Image + " is not present and imagePullPolicy is PullNever", nil
	}
	k.event(ctx, pod, c.Name, EventPulling, fmt.Sprintf("Pulling image %q", c.Image))
	pullStart := time.Now()
	if err := k.cfg.Runtime.PullImage(ctx, c.Image); err != nil {
		msg := err.Error()
		k.mu.Lock()
		m := k.pulls[pod.UID]
		if m == nil {
			m = map[string]PullState{}
			k.pulls[pod.UID] = m
		}
		ps := m[c.Name]
		ps.Failures++
		ps.Last = k.cfg.Clock.Now()
		ps.Message = msg
		m[c.Name] = ps
		k.mu.Unlock()
		k.queue.AddAfter(api.Key(pod), PullBackoff(ps.Failures))
		k.event(ctx, pod, c.Name, EventFailed, fmt.Sprintf("Failed to pull image %q: %s", c.Image, msg))
		return "ErrImagePull: " + msg, nil
	}
	k.event(ctx, pod, c.Name, EventPulled, fmt.Sprintf("Successfully pulled image %q in %s", c.Image, time.Since(pullStart).Round(time.Millisecond)))
	k.mu.Lock()
	delete(k.pulls[pod.UID], c.Name)
	k.mu.Unlock()
	return "", nil
}

// startContainer creates app container a.Name (in o's infra, or solo on its
// network; hostDir volumes bound at o.HostPaths, as admitted), waits for the
// infra to run (waitInfra), then starts it. Its events go to later.
func (k *Kubelet) startContainer(ctx context.Context, pod *api.Pod, a Action, o SpecOptions, waiting map[string]string, waitInfra func() error, later *pendingEvents) error {
	var c *api.Container
	for i := range pod.DesiredState.Manifest.Containers {
		if pod.DesiredState.Manifest.Containers[i].Name == a.Name {
			c = &pod.DesiredState.Manifest.Containers[i]
		}
	}
	if c == nil {
		return nil
	}
	for _, dir := range EmptyDirs(pod, k.cfg.RootDir) {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			waiting[c.Name] = "ErrVolume: " + err.Error()
			return fmt.Errorf("emptyDir for %s: %w", api.Key(pod), err)
		}
	}
	o.RootDir, o.Services, o.AllowPrivileged = k.cfg.RootDir, k.servicesFor(pod), k.cfg.AllowPrivileged
	spec, err := AppSpec(pod, c, a.Attempt, o)
	if err != nil {
		waiting[c.Name] = "ErrInvalidSpec: " + err.Error()
		later.add(c.Name, EventFailed, err.Error())
		return nil // retrying will not help until the pod changes
	}
	// PullIfNotPresent and PullNever try the local image first: no image
	// check on the common path. PullAlways pulls first.
	pullFirst := c.ImagePullPolicy == api.PullAlways
	var id string
	if !pullFirst {
		id, err = k.create(ctx, spec)
	}
	if pullFirst || errors.Is(err, runtime.ErrImageNotPresent) {
		w, perr := k.ensureImage(ctx, pod, c)
		if perr != nil {
			return perr
		}
		if w != "" {
			waiting[c.Name] = w
			return nil
		}
		id, err = k.create(ctx, spec)
	}
	if err == nil {
		later.add(c.Name, EventCreated, "Created container "+c.Name)
		if ierr := waitInfra(); ierr != nil {
			if rerr := k.cfg.Runtime.Remove(ctx, id); rerr != nil && !errors.Is(rerr, runtime.ErrNotFound) {
				k.log.WithError(rerr).Warn("remove a container whose infra failed")
			}
			waiting[c.Name] = "ContainerCreating"
			return nil // the infra's failure is reported by apply
		}
		err = k.cfg.Runtime.Start(ctx, id)
	}
	if err != nil {
		waiting[c.Name] = "ErrRunContainer: " + err.Error()
		later.add(c.Name, EventFailed, "start container: "+err.Error())
		return fmt.Errorf("start %s of %s: %w", c.Name, api.Key(pod), err)
	}
	msg := "Started container " + c.Name
	if a.Reason != "" {
		msg += " (restarted: " + a.Reason + ")"
	}
	later.add(c.Name, EventStarted, msg)
	return nil
}

// servicesFor lists the services of the pod's namespace.
func (k *Kubelet) servicesFor(pod *api.Pod) []*api.Service {
	var out []*api.Service
	ns := namespaceOf(pod)
	for _, o := range k.services.List() {
		if s, ok := o.(*api.Service); ok && (s.Namespace == ns || s.Namespace == "") {
			out = append(out, s)
		}
	}
	return out
}
