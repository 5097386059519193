package kubectl

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"kubelite/internal/api"
)

func setupRollingUpdate(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	var file, image, container string
	var period, timeout time.Duration
	f.String(&file, []string{"f", "filename"}, "", "a replication controller file whose pod template replaces the RC's")
	f.String(&image, []string{"image"}, "", "the new image for the pod template's container")
	f.String(&container, []string{"c", "container"}, "", "with --image: which container (needed when the template has several)")
	f.Duration(&period, []string{"update-period", "u"}, 10*time.Second, "wait between replacing two pods")
	f.Duration(&timeout, []string{"timeout"}, 5*time.Minute, "how long a new pod may take to be Running")
	f.usage = "rollingupdate RC (-f NEW.json | --image IMAGE) [--update-period 10s] [--timeout 5m]"
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 1 {
			return errors.New("rollingupdate: want RC (-f NEW.json | --image IMAGE)")
		}
		if (file == "") == (image == "") {
			return errors.New("rollingupdate: give exactly one of -f NEW.json and --image IMAGE")
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		id, ns := args[0], e.ns(api.ReplicationControllers)
		obj, err := c.Get(ctx, api.ReplicationControllers, ns, id)
		if err != nil {
			return fmt.Errorf("rollingupdate %s: %s", id, serverMessage(err))
		}
		rc := obj.(*api.ReplicationController)
		var newTpl api.PodTemplate
		if file != "" {
			newTpl, err = templateFromFile(e, file, rc)
		} else {
			newTpl, err = templateWithImage(rc.DesiredState.PodTemplate, container, image)
		}
		if err != nil {
			return fmt.Errorf("rollingupdate %s: %w", id, err)
		}
		ru := &rollingUpdate{e: e, c: c, ns: ns, id: id, period: period, timeout: timeout}
		return ru.run(ctx, rc, newTpl)
	}
}

// templateFromFile takes the pod template of a replication controller file.
// Its selector, when it has one, must be the RC's: the pods stay the RC's.
func templateFromFile(e *env, file string, rc *api.ReplicationController) (api.PodTemplate, error) {
	objs, err := readAndDecode(e, file)
	if err != nil {
		return api.PodTemplate{}, err
	}
	if len(objs) != 1 {
		return api.PodTemplate{}, fmt.Errorf("%s: want one ReplicationController, found %d objects", file, len(objs))
	}
	nrc, ok := objs[0].obj.(*api.ReplicationController)
	if !ok {
		return api.PodTemplate{}, fmt.Errorf("%s: want a ReplicationController, found a %s", file, objs[0].res.Kind())
	}
	if sel := nrc.DesiredState.ReplicaSelector; len(sel) > 0 && api.FormatLabels(sel) != api.FormatLabels(rc.DesiredState.ReplicaSelector) {
		return api.PodTemplate{}, fmt.Errorf("%s: replicaSelector %s differs from %s's %s; a rolling update keeps the selector",
			file, api.FormatLabels(sel), rc.ID, api.FormatLabels(rc.DesiredState.ReplicaSelector))
	}
	return nrc.DesiredState.PodTemplate, nil
}

// templateWithImage returns tpl with one container's image replaced.
func templateWithImage(tpl api.PodTemplate, container, image string) (api.PodTemplate, error) {
	cs := append([]api.Container(nil), tpl.DesiredState.Manifest.Containers...)
	var names []string
	idx := -1
	for i, c := range cs {
		names = append(names, c.Name)
		if c.Name == container {
			idx = i
		}
	}
	switch {
	case container == "" && len(cs) == 1:
		idx = 0
	case container == "":
		return tpl, fmt.Errorf("the pod template has %d containers (%s): name one with -c", len(cs), strings.Join(names, ", "))
	case idx < 0:
		return tpl, fmt.Errorf("the pod template has no container %q (it has %s)", container, strings.Join(names, ", "))
	}
	cs[idx].Image = image
	tpl.DesiredState.Manifest.Containers = cs
	return tpl, nil
}

type rollingUpdate struct {
	e        *env
	c        Client
	ns, id   string
	selector map[string]string
	replicas int
	// changed: the new template's images differ from the old one's, so a
	// pod's images tell which template it was made from.
	changed bool
	period  time.Duration
	timeout time.Duration
}

func (ru *rollingUpdate) logf(format string, args ...interface{}) {
	fmt.Fprintf(ru.e.Stdout, format+"\n", args...)
}

// run puts newTpl into the RC, then replaces the pods made from the old
// template one at a time: delete one, wait until the RC's replacement is
// Running, wait the update period, go on. If a replacement fails or is not
// Running within the timeout, it puts the old template back, deletes the
// replacement (so the RC makes an old one) and stops: the old pods not yet
// replaced go on serving.
func (ru *rollingUpdate) run(ctx context.Context, rc *api.ReplicationController, newTpl api.PodTemplate) error {
	ru.selector = rc.DesiredState.ReplicaSelector
	ru.replicas = rc.DesiredState.Replicas
	sel := api.SelectorFromSet(ru.selector)
	if sel.Empty() {
		return fmt.Errorf("rollingupdate %s: the controller has no replicaSelector", ru.id)
	}
	if !sel.Matches(newTpl.Labels) {
		return fmt.Errorf("rollingupdate %s: the new template's labels %s do not match the selector %s", ru.id, api.FormatLabels(newTpl.Labels), sel)
	}
	oldTpl := rc.DesiredState.PodTemplate
	pods, err := podsOf(ctx, ru.c, ru.ns, rc.DesiredState.ReplicaSelector)
	if err != nil {
		return fmt.Errorf("rollingupdate %s: %w", ru.id, err)
	}
	seen := map[string]bool{}
	var old []string
	ru.changed = containerImages(oldTpl) != containerImages(newTpl)
	for _, p := range pods {
		seen[p.ID] = true
		if !ru.changed || podImages(p) != containerImages(newTpl) {
			old = append(old, p.ID)
		}
	}
	sort.Strings(old)
	if err := ru.setTemplate(ctx, newTpl); err != nil {
		return fmt.Errorf("rollingupdate %s: update the pod template: %s", ru.id, serverMessage(err))
	}
	ru.logf("Updating %s: pod template now %s; %d pods to replace", ru.id, images(newTpl.DesiredState.Manifest.Containers), len(old))
	for i, podID := range old {
		if i > 0 && ru.period > 0 {
			select {
			case <-ru.e.Clock.After(ru.period):
			case <-ctx.Done():
				return fmt.Errorf("rollingupdate %s: interrupted after %d of %d pods", ru.id, i, len(old))
			}
		}
		ru.logf("Updating %s: replacing %s (%d/%d)", ru.id, podID, i+1, len(old))
		if _, err := ru.c.Delete(ctx, api.Pods, ru.ns, podID); err != nil && !api.IsNotFound(err) {
			return ru.fail(ctx, oldTpl, newTpl, seen, fmt.Sprintf("delete pod %s: %s", podID, serverMessage(err)), len(old)-i)
		}
		newPod, err := ru.waitReplacement(ctx, sel, seen, containerImages(newTpl), fmt.Sprintf("%s (%d/%d)", podID, i+1, len(old)))
		if err != nil {
			return ru.fail(ctx, oldTpl, newTpl, seen, err.Error(), len(old)-i-1)
		}
		seen[newPod] = true
		ru.logf("Updating %s: %s is Running (%d/%d)", ru.id, newPod, i+1, len(old))
	}
	ru.logf("Update of %s succeeded: %d pods replaced", ru.id, len(old))
	return nil
}

// waitReplacement waits for a pod not in seen, made from the new template,
// to be Running. A new pod made from the old template (a controller that had
// not yet seen the new one) is deleted so that it is made again. Every
// progressEvery it says what it waits for: "the replacement of" replaced.
func (ru *rollingUpdate) waitReplacement(ctx context.Context, sel api.Selector, seen map[string]bool, newImages, replaced string) (string, error) {
	wctx, cancel := context.WithTimeout(ctx, ru.timeout)
	defer cancel()
	var found string
	var last *api.Pod
	start := ru.e.Clock.Now()
	tick := func(map[string]*api.Pod) {
		where := "no new pod yet"
		if last != nil {
			where = last.ID + " " + podReason(last)
		}
		ru.logf("Updating %s: waiting for the replacement of %s: %s (%s of %s)", ru.id, replaced, where,
			ru.e.Clock.Since(start).Round(time.Second), ru.timeout)
	}
	err := waitPodsReporting(wctx, ru.c, ru.ns, sel, func(pods map[string]*api.Pod) (bool, error) {
		ids := make([]string, 0, len(pods))
		for id := range pods {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			p := pods[id]
			if seen[id] {
				continue
			}
			if ru.changed && podImages(p) != newImages {
				seen[id] = true
				if _, err := ru.c.Delete(wctx, api.Pods, ru.ns, id); err != nil && !api.IsNotFound(err) {
					return false, fmt.Errorf("delete pod %s made from the old template: %w", id, err)
				}
				ru.logf("Updating %s: deleted %s, made from the old template", ru.id, id)
				continue
			}
			last = p
			switch p.CurrentState.Phase {
			case api.PodPhaseRunning:
				found = id
				return true, nil
			case api.PodPhaseFailed:
				return false, fmt.Errorf("new pod %s failed: %s", id, podReason(p))
			}
		}
		return false, nil
	}, ru.e.Clock, tick)
	if err == nil {
		return found, nil
	}
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		if last == nil {
			return "", fmt.Errorf("no new pod appeared within %s (is the replication manager running?)", ru.timeout)
		}
		return "", fmt.Errorf("new pod %s was not Running within %s (%s)", last.ID, ru.timeout, podReason(last))
	}
	return "", err
}

// podReason says where a pod is and why.
func podReason(p *api.Pod) string {
	s := podStatus(p)
	for _, st := range p.CurrentState.Info { // in name order
		if st.Name != "net" && (st.State.Waiting != nil || st.State.Termination != nil) {
			s += ", container " + st.Name + ": " + containerState(st.State)
		}
	}
	if p.CurrentState.Phase != "" && p.CurrentState.Phase != api.PodPhasePending && p.CurrentState.Message != "" {
		s += ": " + oneLine(p.CurrentState.Message)
	}
	return s
}

// fail restores the old template, then deletes the pods of the new
// template that are not Running (the controller may still be making some
// from the new template it saw last), so the RC brings back old pods.
func (ru *rollingUpdate) fail(ctx context.Context, oldTpl, newTpl api.PodTemplate, seen map[string]bool, why string, remaining int) error {
	msg := fmt.Sprintf("rollingupdate %s: %s", ru.id, why)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ru.cleanupTimeout())
	defer cancel()
	if err := ru.setTemplate(cctx, oldTpl); err != nil {
		return fmt.Errorf("%s; restoring the previous pod template also failed: %s", msg, serverMessage(err))
	}
	newImages := containerImages(newTpl)
	deleted := map[string]bool{}
	var delErr error
	err := waitPods(cctx, ru.c, ru.ns, api.SelectorFromSet(ru.selector), func(pods map[string]*api.Pod) (bool, error) {
		left := 0
		for id, p := range pods {
			if seen[id] || p.CurrentState.Phase == api.PodPhaseRunning || podImages(p) != newImages {
				continue
			}
			left++
			if !deleted[id] {
				deleted[id] = true
				if _, err := ru.c.Delete(cctx, api.Pods, ru.ns, id); err != nil && !api.IsNotFound(err) {
					delErr = err
					return false, err
				}
			}
		}
		// Done when no new pod is left starting and the controller has
		// made up the numbers (so it has seen the restored template).
		return left == 0 && countActive(pods) >= ru.replicas, nil
	})
	var ids []string
	for id := range deleted {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	if len(ids) > 0 {
		msg += fmt.Sprintf("; deleted %d new pod(s) not Running (%s)", len(ids), strings.Join(ids, ", "))
	}
	if delErr != nil || err != nil {
		msg += fmt.Sprintf("; cleaning up the new pods failed: %v", errors.Join(delErr, err))
	}
	return fmt.Errorf("%s; restored the previous pod template (%s), so the controller replaces them with old pods; %d pods of the old template were not touched and still serve",
		msg, images(oldTpl.DesiredState.Manifest.Containers), remaining)
}

func (ru *rollingUpdate) cleanupTimeout() time.Duration {
	if ru.timeout < 30*time.Second {
		return 30 * time.Second
	}
	return ru.timeout
}

func (ru *rollingUpdate) setTemplate(ctx context.Context, tpl api.PodTemplate) error {
	for attempt := 0; ; attempt++ {
		obj, err := ru.c.Get(ctx, api.ReplicationControllers, ru.ns, ru.id)
		if err != nil {
			return err
		}
		rc := obj.(*api.ReplicationController)
		rc.DesiredState.PodTemplate = tpl
		if _, err = ru.c.Update(ctx, rc); err == nil {
			return nil
		}
		if !api.IsConflict(err) || attempt >= 10 {
			return err
		}
	}
}

func containerImages(t api.PodTemplate) string {
	return namedImages(t.DesiredState.Manifest.Containers)
}

func podImages(p *api.Pod) string { return namedImages(p.DesiredState.Manifest.Containers) }

func namedImages(cs []api.Container) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Image)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
