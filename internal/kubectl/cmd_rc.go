package kubectl

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/store"
)

func setupResize(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	f.usage = "resize RC N"
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) == 3 { // resize rc NAME N
			if r, err := parseResource(args[0]); err != nil || r != api.ReplicationControllers {
				return fmt.Errorf("resize: only replication controllers resize, not %q", args[0])
			}
			args = args[1:]
		}
		if len(args) != 2 {
			return errors.New("resize: want RC N, e.g. resize webservercontroller 6")
		}
		id := args[0]
		n, err := parseReplicas(args[len(args)-1])
		if err != nil {
			return fmt.Errorf("resize: %w", err)
		}
		return resize(ctx, e, id, n)
	}
}

func setupScale(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	replicas := -1
	f.Int(&replicas, []string{"replicas"}, -1, "the number of replicas wanted (required)")
	f.usage = "scale --replicas=N RC"
	return func(ctx context.Context, e *env, args []string) error {
		if replicas < 0 {
			return errors.New("scale: --replicas=N is required (N >= 0)")
		}
		if len(args) == 2 { // scale rc NAME
			if r, err := parseResource(args[0]); err != nil || r != api.ReplicationControllers {
				return fmt.Errorf("scale: only replication controllers scale, not %q", args[0])
			}
			args = args[1:]
		}
		if len(args) != 1 {
			return errors.New("scale: want --replicas=N RC")
		}
		return resize(ctx, e, args[0], replicas)
	}
}

func parseReplicas(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("replicas %q: want a number >= 0", s)
	}
	return n, nil
}

func resize(ctx context.Context, e *env, id string, n int) error {
	c, err := e.connect()
	if err != nil {
		return err
	}
	if _, err := setReplicas(ctx, c, e.ns(api.ReplicationControllers), id, n); err != nil {
		return fmt.Errorf("resize %s: %s", id, serverMessage(err))
	}
	fmt.Fprintf(e.Stdout, "%s resized to %d\n", id, n)
	return nil
}

func setupStop(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	var timeout time.Duration
	f.Duration(&timeout, []string{"timeout"}, 5*time.Minute, "how long to wait for the pods to go")
	f.usage = "stop RC"
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) == 2 {
			if r, err := parseResource(args[0]); err != nil || r != api.ReplicationControllers {
				return fmt.Errorf("stop: only replication controllers stop, not %q", args[0])
			}
			args = args[1:]
		}
		if len(args) != 1 {
			return errors.New("stop: want RC")
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		id, ns := args[0], e.ns(api.ReplicationControllers)
		rc, err := setReplicas(ctx, c, ns, id, 0)
		if err != nil {
			return fmt.Errorf("stop %s: %s", id, serverMessage(err))
		}
		sel := api.SelectorFromSet(rc.DesiredState.ReplicaSelector)
		if !sel.Empty() {
			// Progress goes to stderr: stdout stays the stopped RC's name.
			start, last, total := e.Clock.Now(), -1, 0
			say := func(n int) {
				fmt.Fprintf(e.Stderr, "stop %s: replicas 0, %d of %d pods still running (%s)\n", id, n, total, e.Clock.Since(start).Round(time.Second))
			}
			wctx, cancel := context.WithTimeout(ctx, timeout)
			err := waitPodsReporting(wctx, c, ns, sel, func(pods map[string]*api.Pod) (bool, error) {
				n := countActive(pods)
				if n > total {
					total = n
				}
				if n != last && n > 0 {
					say(n)
				}
				last = n
				return n == 0, nil
			}, e.Clock, func(pods map[string]*api.Pod) { say(countActive(pods)) })
			cancel()
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					return fmt.Errorf("stop %s: its pods were still running after %s; the controller is at 0 replicas and was not deleted", id, timeout)
				}
				return fmt.Errorf("stop %s: %w", id, err)
			}
		}
		if _, err := c.Delete(ctx, api.ReplicationControllers, ns, id); err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("stop %s: %s", id, serverMessage(err))
		}
		if err := deletePods(ctx, c, ns, sel); err != nil { // terminated leftovers
			return fmt.Errorf("stop %s: %w", id, err)
		}
		fmt.Fprintln(e.Stdout, id)
		return nil
	}
}

func active(p *api.Pod) bool {
	return p.CurrentState.Phase != api.PodPhaseSucceeded && p.CurrentState.Phase != api.PodPhaseFailed
}

func countActive(pods map[string]*api.Pod) int {
	n := 0
	for _, p := range pods {
		if active(p) {
			n++
		}
	}
	return n
}

// progressEvery is how often a command that waits for pods says where it
// stands when nothing changes.
const progressEvery = 5 * time.Second

// waitPods lists the pods of ns matching sel and follows them with a watch,
// calling done after the list and after every change until it says true,
// returns an error, or ctx ends.
func waitPods(ctx context.Context, c store.Store, ns string, sel api.Selector, done func(map[string]*api.Pod) (bool, error)) error {
	return waitPodsReporting(ctx, c, ns, sel, done, nil, nil)
}

// waitPodsReporting is waitPods that also calls tick with the pods every
// progressEvery of clk while it waits (never when tick is nil).
func waitPodsReporting(ctx context.Context, c store.Store, ns string, sel api.Selector,
	done func(map[string]*api.Pod) (bool, error), clk clock.Clock, tick func(map[string]*api.Pod)) error {
	var ticks <-chan time.Time
	if tick != nil {
		ticks = clk.After(progressEvery)
	}
	for {
		objs, rv, err := c.List(ctx, api.Pods, store.ListOptions{Namespace: ns, Labels: sel})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("list pods: %w", err)
		}
		pods := map[string]*api.Pod{}
		for _, o := range objs {
			pods[o.Meta().ID] = o.(*api.Pod)
		}
		if ok, err := done(pods); ok || err != nil {
			return err
		}
	watch:
		for {
			ch, err := c.Watch(ctx, api.Pods, store.ListOptions{Namespace: ns, Labels: sel, ResourceVersion: rv})
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if api.IsGone(err) {
					break watch
				}
				return fmt.Errorf("watch pods: %w", err)
			}
		events:
			for {
				var ev store.Event
				var open bool
				select {
				case ev, open = <-ch:
				case <-ticks:
					tick(pods)
					ticks = clk.After(progressEvery)
					continue
				}
				if !open {
					break events
				}
				switch ev.Type {
				case store.Error:
					if st, ok := ev.Object.(*api.Status); ok && st.Reason == api.ReasonGone {
						break watch
					}
					return fmt.Errorf("watch pods: %s", serverMessage(statusErr(ev.Object)))
				case store.Deleted:
					delete(pods, ev.Object.Meta().ID)
				default:
					pods[ev.Object.Meta().ID] = ev.Object.(*api.Pod)
				}
				rv = ev.Object.Meta().ResourceVersion
				if ok, err := done(pods); ok || err != nil {
					return err
				}
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
}

func statusErr(obj api.Object) error {
	if st, ok := obj.(*api.Status); ok {
		return &api.StatusError{Status: *st}
	}
	return errors.New("watch error")
}

func setupRun(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	var ports string
	var servicePort int
	f.String(&ports, []string{"p", "port"}, "", "container ports, HOSTPORT:CONTAINERPORT or CONTAINERPORT, comma separated")
	f.Int(&servicePort, []string{"s", "service-port"}, 0, "also create a service NAME on this port (0: no service); --server sets the API server here")
	f.usage = "run IMAGE REPLICAS NAME [-p HOSTPORT:CONTAINERPORT] [-s SERVICEPORT]"
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 3 {
			return errors.New("run: want IMAGE REPLICAS NAME, e.g. run fedora/apache 2 apache -p 8080:80")
		}
		image, name := args[0], args[2]
		n, err := parseReplicas(args[1])
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		cports, err := parsePortSpecs(ports)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		if servicePort < 0 || servicePort > 65535 {
			return fmt.Errorf("run: service port %d: want 1-65535", servicePort)
		}
		rc, svc := runObjects(image, n, name, e.ns(api.ReplicationControllers), cports, servicePort)
		c, err := e.connect()
		if err != nil {
			return err
		}
		if w := hostPortWarning(ctx, c, rc); w != "" {
			fmt.Fprintln(e.Stderr, w)
		}
		created, err := c.Create(ctx, rc)
		if err != nil {
			return fmt.Errorf("run: create ReplicationController %q: %s", name, serverMessage(err))
		}
		fmt.Fprintln(e.Stdout, created.Meta().ID)
		if svc != nil {
			created, err := c.Create(ctx, svc)
			if err != nil {
				return fmt.Errorf("run: create Service %q: %s", name, serverMessage(err))
			}
			fmt.Fprintln(e.Stdout, created.Meta().ID)
		}
		return nil
	}
}

// parsePortSpecs reads "8080:80,22" into ports.
func parsePortSpecs(spec string) ([]api.Port, error) {
	if spec == "" {
		return nil, nil
	}
	var out []api.Port
	for _, s := range strings.Split(spec, ",") {
		var p api.Port
		hostS, contS, hasHost := strings.Cut(strings.TrimSpace(s), ":")
		if !hasHost {
			contS, hostS = hostS, ""
		}
		var err error
		if p.ContainerPort, err = parsePort(contS); err != nil {
			return nil, fmt.Errorf("port spec %q: %w", s, err)
		}
		if hasHost {
			if p.HostPort, err = parsePort(hostS); err != nil {
				return nil, fmt.Errorf("port spec %q: %w", s, err)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q: want 1-65535", s)
	}
	return n, nil
}

// runObjects builds what `run` creates: an RC labelled and selecting
// name=NAME, and a service NAME when servicePort is set.
func runObjects(image string, replicas int, name, ns string, ports []api.Port, servicePort int) (*api.ReplicationController, *api.Service) {
	labels := func() map[string]string { return map[string]string{"name": name} }
	rc := &api.ReplicationController{
		TypeMeta: api.TypeMeta{Kind: "ReplicationController", APIVersion: api.APIVersion, ID: name, Namespace: ns, Labels: labels()},
		DesiredState: api.ReplicationControllerState{
			Replicas:        replicas,
			ReplicaSelector: labels(),
			PodTemplate: api.PodTemplate{
				Labels: labels(),
				DesiredState: api.PodState{Manifest: api.ContainerManifest{
					Version:    api.APIVersion,
					ID:         name,
					Containers: []api.Container{{Name: name, Image: image, Ports: ports}},
				}},
			},
		},
	}
	if servicePort == 0 {
		return rc, nil
	}
	cp := servicePort
	if len(ports) > 0 {
		cp = ports[0].ContainerPort
	}
	svc := &api.Service{
		TypeMeta:      api.TypeMeta{Kind: "Service", APIVersion: api.APIVersion, ID: name, Namespace: ns, Labels: labels()},
		Port:          servicePort,
		Protocol:      "TCP",
		Selector:      labels(),
		ContainerPort: api.NewIntOrStringFromInt(cp),
	}
	return rc, svc
}

func setupLog(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	var follow bool
	f.Bool(&follow, []string{"f", "follow"}, false, "stream the log as it grows")
	f.usage = "log [-f] POD [CONTAINER]"
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) < 1 || len(args) > 2 {
			return errors.New("log: want POD [CONTAINER]")
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		ns := e.ns(api.Pods)
		obj, err := c.Get(ctx, api.Pods, ns, args[0])
		if err != nil {
			return fmt.Errorf("log: get pod %s: %s", args[0], serverMessage(err))
		}
		pod := obj.(*api.Pod)
		host := pod.CurrentState.Host
		if host == "" {
			host = pod.DesiredState.Host
		}
		if host == "" {
			return fmt.Errorf("log: pod %s is not on a minion yet (%s)", pod.ID, podStatus(pod))
		}
		var names []string
		for _, ct := range pod.DesiredState.Manifest.Containers {
			names = append(names, ct.Name)
		}
		var container string
		switch {
		case len(args) == 2:
			container = args[1]
			if !contains(names, container) {
				return fmt.Errorf("log: pod %s has no container %q (it has %s)", pod.ID, container, strings.Join(names, ", "))
			}
		case len(names) == 1:
			container = names[0]
		default:
			sort.Strings(names)
			return fmt.Errorf("log: pod %s has %d containers, name one: %s", pod.ID, len(names), strings.Join(names, ", "))
		}
		if err := c.ContainerLogs(ctx, host, ns, pod.ID, container, follow, e.Stdout); err != nil {
			return fmt.Errorf("log %s/%s: %s", pod.ID, container, serverMessage(err))
		}
		return nil
	}
}
