package kubectl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// maxDescribeEvents is how many of the most recent events describe shows.
const maxDescribeEvents = 10

func setupDescribe(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	f.usage = "describe (pods|rc|services|minions) ID"
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 2 {
			return errors.New("describe: want RESOURCE ID, e.g. describe pods fedoraapache")
		}
		res, err := parseResource(args[0])
		if err != nil {
			return fmt.Errorf("describe: %w", err)
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		ns, id := e.ns(res), args[1]
		obj, err := c.Get(ctx, res, ns, id)
		if err != nil {
			return fmt.Errorf("describe %s %s: %w", res, id, err)
		}
		events, err := eventsFor(ctx, c, res, obj)
		if err != nil {
			return err
		}
		switch o := obj.(type) {
		case *api.Pod:
			rcs, _, err := c.List(ctx, api.ReplicationControllers, store.ListOptions{Namespace: ns})
			if err != nil {
				return fmt.Errorf("describe: list replication controllers: %w", err)
			}
			return describePod(e.Stdout, o, matchingRCs(rcs, o.Labels), events)
		case *api.ReplicationController:
			pods, err := podsOf(ctx, c, ns, o.DesiredState.ReplicaSelector)
			if err != nil {
				return err
			}
			return describeRC(e.Stdout, o, pods, events)
		case *api.Service:
			var eps *api.Endpoints
			if ep, err := c.Get(ctx, api.EndpointsResource, ns, id); err == nil {
				eps = ep.(*api.Endpoints)
			} else if !api.IsNotFound(err) {
				return fmt.Errorf("describe: get endpoints %s: %w", id, err)
			}
			return describeService(e.Stdout, o, eps, events)
		case *api.Minion:
			pods, _, err := c.List(ctx, api.Pods, store.ListOptions{})
			if err != nil {
				return fmt.Errorf("describe: list pods: %w", err)
			}
			var on []*api.Pod
			for _, p := range pods {
				p := p.(*api.Pod)
				if p.DesiredState.Host == o.ID || p.CurrentState.Host == o.ID {
					on = append(on, p)
				}
			}
			return describeMinion(e.Stdout, o, on, events)
		}
		return fmt.Errorf("describe: %s cannot be described; try get %s %s -o yaml", res, res, id)
	}
}

// eventsFor lists the events about obj, oldest first.
func eventsFor(ctx context.Context, c Client, res api.Resource, obj api.Object) ([]*api.Event, error) {
	m := obj.Meta()
	fields, err := api.ParseSelector(api.FieldInvolvedName + "=" + m.ID + "," + api.FieldInvolvedKind + "=" + res.Kind())
	if err != nil {
		return nil, fmt.Errorf("describe: events selector: %w", err)
	}
	ns := m.Namespace
	if !res.Namespaced() {
		ns = ""
	}
	objs, _, err := c.List(ctx, api.Events, store.ListOptions{Namespace: ns, Fields: fields})
	if err != nil {
		return nil, fmt.Errorf("describe: list events: %w", err)
	}
	var out []*api.Event
	for _, o := range objs {
		ev := o.(*api.Event)
		if ev.InvolvedObject.Name == m.ID && ev.InvolvedObject.Kind == res.Kind() {
			out = append(out, ev)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Timestamp.Before(out[j].Timestamp) })
	return out, nil
}

func podsOf(ctx context.Context, c Client, ns string, selector map[string]string) ([]*api.Pod, error) {
	if len(selector) == 0 {
		return nil, nil
	}
	objs, _, err := c.List(ctx, api.Pods, store.ListOptions{Namespace: ns, Labels: api.SelectorFromSet(selector)})
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	out := make([]*api.Pod, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*api.Pod))
	}
	return out, nil
}

func matchingRCs(objs []api.Object, labels map[string]string) []*api.ReplicationController {
	var out []*api.ReplicationController
	for _, o := range objs {
		rc := o.(*api.ReplicationController)
		if len(rc.DesiredState.ReplicaSelector) > 0 && api.SelectorFromSet(rc.DesiredState.ReplicaSelector).Matches(labels) {
			out = append(out, rc)
		}
	}
	return out
}

// fields writes "Key:\tvalue" lines aligned.
type fields struct {
	w   io.Writer
	kvs [][2]string
}

func (f *fields) add(k, v string) { f.kvs = append(f.kvs, [2]string{k, v}) }

func (f *fields) flush() error {
	tw := newTabWriter(f.w)
	for _, kv := range f.kvs {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	f.kvs = nil
	return tw.Flush()
}

func describePod(w io.Writer, p *api.Pod, rcs []*api.ReplicationController, events []*api.Event) error {
	f := &fields{w: w}
	f.add("Name", p.ID)
	f.add("Namespace", p.Namespace)
	f.add("Image(s)", images(p.DesiredState.Manifest.Containers))
	f.add("Host", podHost(p))
	f.add("Labels", api.FormatLabels(p.Labels))
	f.add("Status", podStatus(p))
	if p.CurrentState.Reason != "" || p.CurrentState.Message != "" {
		f.add("Reason", strings.TrimSpace(p.CurrentState.Reason+" "+oneLine(p.CurrentState.Message)))
	}
	f.add("IP", orNone(p.CurrentState.PodIP))
	if !p.CreationTimestamp.IsZero() {
		f.add("Created", formatTime(p.CreationTimestamp))
	}
	var names []string
	for _, rc := range rcs {
		names = append(names, fmt.Sprintf("%s (%d/%d replicas created)", rc.ID, rc.CurrentState.Replicas, rc.DesiredState.Replicas))
	}
	f.add("Replication Controllers", orNone(strings.Join(names, ", ")))
	if err := f.flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "Containers:")
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "  NAME\tIMAGE\tPORTS\tSTATE\tRESTARTS")
	for _, c := range p.DesiredState.Manifest.Containers {
		st, ok := p.CurrentState.Info.Get(c.Name)
		state, restarts := "<unknown>", "0"
		if ok {
			state = containerState(st.State)
			restarts = fmt.Sprint(st.RestartCount)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", c.Name, c.Image, formatPorts(c.Ports), state, restarts)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return printEvents(w, events)
}

func containerState(s api.ContainerState) string {
	switch {
	case s.Running != nil:
		if s.Running.StartedAt.IsZero() {
			return "Running"
		}
		return "Running since " + formatTime(s.Running.StartedAt)
	case s.Waiting != nil:
		if s.Waiting.Reason != "" {
			return "Waiting (" + oneLine(s.Waiting.Reason) + ")"
		}
		return "Waiting"
	case s.Termination != nil:
		t := fmt.Sprintf("Terminated (exit %d", s.Termination.ExitCode)
		if s.Termination.Reason != "" {
			t += ", " + oneLine(s.Termination.Reason)
		}
		return t + ")"
	}
	return "<unknown>"
}

func formatPorts(ports []api.Port) string {
	var out []string
	for _, p := range ports {
		proto := p.Protocol
		if proto == "" {
			proto = "TCP"
		}
		s := fmt.Sprintf("%d/%s", p.ContainerPort, proto)
		if p.HostPort != 0 {
			s = fmt.Sprintf("%d->%s", p.HostPort, s)
		}
		out = append(out, s)
	}
	return orNone(strings.Join(out, ","))
}

func describeRC(w io.Writer, rc *api.ReplicationController, pods []*api.Pod, events []*api.Event) error {
	f := &fields{w: w}
	f.add("Name", rc.ID)
	f.add("Namespace", rc.Namespace)
	f.add("Image(s)", images(rc.DesiredState.PodTemplate.DesiredState.Manifest.Containers))
	f.add("Selector", api.FormatLabels(rc.DesiredState.ReplicaSelector))
	f.add("Labels", api.FormatLabels(rc.Labels))
	f.add("Replicas", fmt.Sprintf("%d current / %d desired", rc.CurrentState.Replicas, rc.DesiredState.Replicas))
	counts := map[api.PodPhase]int{}
	for _, p := range pods {
		ph := p.CurrentState.Phase
		if ph == "" {
			ph = api.PodPhasePending
		}
		counts[ph]++
	}
	f.add("Pods Status", fmt.Sprintf("%d Running / %d Pending / %d Succeeded / %d Failed",
		counts[api.PodPhaseRunning], counts[api.PodPhasePending], counts[api.PodPhaseSucceeded], counts[api.PodPhaseFailed]))
	if ports := templateHostPorts(rc); len(ports) > 0 {
		f.add("Host Ports", fmt.Sprintf("%v (one replica per minion)", ports))
	}
	if err := f.flush(); err != nil {
		return err
	}
	return printEvents(w, events)
}

func describeService(w io.Writer, s *api.Service, eps *api.Endpoints, events []*api.Event) error {
	f := &fields{w: w}
	f.add("Name", s.ID)
	f.add("Namespace", s.Namespace)
	f.add("Labels", api.FormatLabels(s.Labels))
	f.add("Selector", api.FormatLabels(s.Selector))
	f.add("IP", orNone(s.PortalIP))
	proto := s.Protocol
	if proto == "" {
		proto = "TCP"
	}
	f.add("Port", fmt.Sprintf("%d/%s", s.Port, proto))
	cp := s.ContainerPort.String()
	if s.ContainerPort.IsZero() {
		cp = "<none>"
	}
	f.add("Container Port", cp)
	affinity := s.SessionAffinity
	if affinity == "" {
		affinity = api.AffinityNone
	}
	f.add("Session Affinity", affinity)
	endpoints := "<none>"
	if eps != nil && len(eps.Endpoints) > 0 {
		endpoints = strings.Join(eps.Endpoints, ",")
	}
	f.add("Endpoints", endpoints)
	if err := f.flush(); err != nil {
		return err
	}
	return printEvents(w, events)
}

func describeMinion(w io.Writer, m *api.Minion, pods []*api.Pod, events []*api.Event) error {
	f := &fields{w: w}
	f.add("Name", m.ID)
	f.add("Labels", api.FormatLabels(m.Labels))
	f.add("Status", minionStatus(m))
	if m.Status.Reason != "" {
		f.add("Reason", oneLine(m.Status.Reason))
	}
	f.add("Host IP", orNone(m.HostIP))
	f.add("Last Heartbeat", formatTime(m.Status.LastHeartbeat))
	f.add("Capacity", fmt.Sprintf("cpu=%s, memory=%s", capacity(m.Resources.Capacity.CPU, "m"), capacity(m.Resources.Capacity.Memory, "")))
	if m.PodCIDR != "" {
		f.add("Pod CIDR", m.PodCIDR)
	}
	f.add("Pods", fmt.Sprintf("%d", len(pods)))
	if err := f.flush(); err != nil {
		return err
	}
	if len(pods) > 0 {
		sort.Slice(pods, func(i, j int) bool { return api.Key(pods[i]) < api.Key(pods[j]) })
		tw := newTabWriter(w)
		fmt.Fprintln(tw, "  NAMESPACE\tNAME\tIMAGE(S)\tSTATUS")
		for _, p := range pods {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p.Namespace, p.ID, images(p.DesiredState.Manifest.Containers), podStatus(p))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return printEvents(w, events)
}

func capacity(v int64, unit string) string {
	if v == 0 {
		return "unlimited"
	}
	return fmt.Sprintf("%d%s", v, unit)
}

// printEvents writes the most recent events of an object, oldest first.
func printEvents(w io.Writer, events []*api.Event) error {
	if len(events) == 0 {
		_, err := fmt.Fprintln(w, "Events:\n  <none>")
		return err
	}
	if len(events) > maxDescribeEvents {
		events = events[len(events)-maxDescribeEvents:]
	}
	fmt.Fprintln(w, "Events:")
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "  TIME\tSUBOBJECT\tREASON\tSOURCE\tMESSAGE")
	for _, ev := range events {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", formatTime(ev.Timestamp), subobject(ev.InvolvedObject.FieldPath), eventReason(ev), orNone(ev.Source), oneLine(ev.Message))
	}
	return tw.Flush()
}
