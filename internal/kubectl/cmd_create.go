package kubectl

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

func setupCreate(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	var file string
	f.String(&file, []string{"f", "filename"}, "", "file, directory or - (stdin) holding JSON or YAML objects")
	f.usage = "create -f FILE|DIR|-"
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("create: unexpected arguments %q (use -f FILE)", args)
		}
		objs, err := readAndDecode(e, file)
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		var errs []error
		for _, d := range objs {
			prepareObject(e, d)
			if rc, ok := d.obj.(*api.ReplicationController); ok {
				if w := hostPortWarning(ctx, c, rc); w != "" {
					fmt.Fprintln(e.Stderr, w)
				}
			}
			created, err := c.Create(ctx, d.obj)
			if err != nil {
				errs = append(errs, fmt.Errorf("create %s %s: %s", d.res.Kind(), describeID(d.obj), serverMessage(err)))
				continue
			}
			fmt.Fprintln(e.Stdout, created.Meta().ID)
		}
		return errors.Join(errs...)
	}
}

func setupUpdate(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	var file string
	f.String(&file, []string{"f", "filename"}, "", "file, directory or - (stdin) holding JSON or YAML objects")
	f.usage = "update -f FILE|DIR|-"
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("update: unexpected arguments %q (use -f FILE)", args)
		}
		objs, err := readAndDecode(e, file)
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
		c, err := e.connect()
		if err != nil {
			return err
		}
		var errs []error
		for _, d := range objs {
			if d.obj.Meta().ID == "" {
				errs = append(errs, fmt.Errorf("update %s from %s: the object has no id", d.res.Kind(), d.source))
				continue
			}
			prepareObject(e, d)
			updated, err := updateObject(ctx, c, d)
			if err != nil {
				errs = append(errs, fmt.Errorf("update %s %s: %s", d.res.Kind(), describeID(d.obj), serverMessage(err)))
				continue
			}
			fmt.Fprintln(e.Stdout, updated.Meta().ID)
		}
		return errors.Join(errs...)
	}
}

// updateObject replaces an object. Without a resourceVersion in the file it
// updates what it reads now (compare-and-swap on that); a service keeps its
// portal IP when the file names none.
func updateObject(ctx context.Context, c Client, d decoded) (api.Object, error) {
	m := d.obj.Meta()
	cur, err := c.Get(ctx, d.res, m.Namespace, m.ID)
	if err != nil {
		return nil, err
	}
	if m.ResourceVersion == 0 {
		m.ResourceVersion = cur.Meta().ResourceVersion
	}
	if m.UID == "" {
		m.UID = cur.Meta().UID
	}
	if m.CreationTimestamp.IsZero() {
		m.CreationTimestamp = cur.Meta().CreationTimestamp
	}
	if svc, ok := d.obj.(*api.Service); ok && svc.PortalIP == "" {
		svc.PortalIP = cur.(*api.Service).PortalIP
	}
	return c.Update(ctx, d.obj)
}

func readAndDecode(e *env, file string) ([]decoded, error) {
	srcs, err := readSources(file, e.Stdin)
	if err != nil {
		return nil, err
	}
	return decodeSources(srcs)
}

// prepareObject fills the namespace from --namespace and clears what the
// server assigns, so `get -o json | create -f -` works.
func prepareObject(e *env, d decoded) {
	m := d.obj.Meta()
	if d.res.Namespaced() {
		if m.Namespace == "" {
			m.Namespace = e.ns(d.res)
		}
	} else {
		m.Namespace = ""
	}
	api.SetKind(d.obj)
}

func describeID(obj api.Object) string {
	if id := obj.Meta().ID; id != "" {
		return fmt.Sprintf("%q", id)
	}
	return "(no id)"
}

// serverMessage is the server's message for a rejection, with the causes of
// an Invalid that the message does not already name.
func serverMessage(err error) string {
	var se *api.StatusError
	if !errors.As(err, &se) {
		return err.Error()
	}
	msg := se.Status.Message
	if msg == "" {
		msg = string(se.Status.Reason)
	}
	if d := se.Status.Details; d != nil {
		for _, c := range d.Causes {
			if c.Field != "" && !strings.Contains(msg, c.Field) {
				msg += "; " + c.Field + ": " + c.Message
			}
		}
	}
	return msg
}

// templateHostPorts returns the host ports a pod template binds.
func templateHostPorts(rc *api.ReplicationController) []int {
	var ports []int
	for _, c := range rc.DesiredState.PodTemplate.DesiredState.Manifest.Containers {
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				ports = append(ports, p.HostPort)
			}
		}
	}
	sort.Ints(ports)
	return ports
}

// hostPortWarning explains, for an RC whose template binds a host port, that
// only one of its pods fits on a minion; it counts the Ready minions when it can.
func hostPortWarning(ctx context.Context, c Client, rc *api.ReplicationController) string {
	ports := templateHostPorts(rc)
	if len(ports) == 0 {
		return ""
	}
	var ps []string
	for _, p := range ports {
		ps = append(ps, fmt.Sprint(p))
	}
	w := fmt.Sprintf("warning: replication controller %q: its pod template sets hostPort %s, so only one replica can run per minion",
		rc.ID, strings.Join(ps, ","))
	minions, _, err := c.List(ctx, api.Minions, store.ListOptions{})
	if err != nil {
		return w + "; the rest stay Pending"
	}
	ready := 0
	for _, o := range minions {
		m := o.(*api.Minion)
		if m.Status.Condition == api.MinionReady && !m.Unschedulable {
			ready++
		}
	}
	if n := rc.DesiredState.Replicas; n > ready {
		return w + fmt.Sprintf("; with %d replicas and %d ready minions, %d stay Pending", n, ready, n-ready)
	}
	return w + "; replicas beyond the number of minions stay Pending"
}

func setupDelete(f *flagSet) func(ctx context.Context, e *env, args []string) error {
	var file, selector string
	cascade := true
	var timeout time.Duration
	f.String(&file, []string{"f", "filename"}, "", "delete the objects named in this file, directory or - (stdin)")
	f.String(&selector, []string{"l", "selector"}, "", "delete every object of the resource matching this label selector")
	f.Bool(&cascade, []string{"cascade"}, true, "deleting a replication controller also deletes its pods (--cascade=false keeps them)")
	f.Duration(&timeout, []string{"timeout"}, time.Minute, "how long to wait for the API")
	f.usage = "delete RESOURCE ID... | delete RESOURCE -l SELECTOR | delete -f FILE|DIR|-"
	return func(ctx context.Context, e *env, args []string) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		type target struct {
			res    api.Resource
			ns, id string
		}
		var targets []target
		c, err := e.connect()
		if err != nil {
			return err
		}
		switch {
		case file != "":
			if len(args) > 0 {
				return fmt.Errorf("delete: give -f FILE or RESOURCE ID, not both")
			}
			objs, err := readAndDecode(e, file)
			if err != nil {
				return fmt.Errorf("delete: %w", err)
			}
			for _, d := range objs {
				prepareObject(e, d)
				if d.obj.Meta().ID == "" {
					return fmt.Errorf("delete: %s in %s has no id", d.res.Kind(), d.source)
				}
				targets = append(targets, target{d.res, d.obj.Meta().Namespace, d.obj.Meta().ID})
			}
		case len(args) == 0:
			return errors.New("delete: which resource? (delete RESOURCE ID or delete -f FILE)")
		default:
			res, err := parseResource(args[0])
			if err != nil {
				return fmt.Errorf("delete: %w", err)
			}
			ids := args[1:]
			if selector != "" {
				if len(ids) > 0 {
					return errors.New("delete: give IDs or -l SELECTOR, not both")
				}
				sel, err := api.ParseSelector(selector)
				if err != nil {
					return fmt.Errorf("delete: %w", err)
				}
				objs, _, err := c.List(ctx, res, store.ListOptions{Namespace: e.ns(res), Labels: sel})
				if err != nil {
					return fmt.Errorf("delete: list %s: %w", res, err)
				}
				for _, o := range objs {
					ids = append(ids, o.Meta().ID)
				}
			} else if len(ids) == 0 {
				return fmt.Errorf("delete %s: which id?", res)
			}
			for _, id := range ids {
				targets = append(targets, target{res, e.ns(res), id})
			}
		}
		var errs []error
		for _, t := range targets {
			var err error
			if t.res == api.ReplicationControllers && cascade {
				err = deleteRCAndPods(ctx, c, t.ns, t.id)
			} else {
				_, err = c.Delete(ctx, t.res, t.ns, t.id)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("delete %s %q: %s", t.res.Kind(), t.id, serverMessage(err)))
				continue
			}
			fmt.Fprintln(e.Stdout, t.id)
		}
		return errors.Join(errs...)
	}
}

// deleteRCAndPods sets the RC to 0 replicas (so it makes no new pods),
// deletes the pods its selector matches, deletes the RC, then deletes any
// pod a lagging replication manager made meanwhile.
func deleteRCAndPods(ctx context.Context, c Client, ns, id string) error {
	rc, err := setReplicas(ctx, c, ns, id, 0)
	if err != nil {
		return err
	}
	sel := api.SelectorFromSet(rc.DesiredState.ReplicaSelector)
	if err := deletePods(ctx, c, ns, sel); err != nil {
		return err
	}
	if _, err := c.Delete(ctx, api.ReplicationControllers, ns, id); err != nil && !api.IsNotFound(err) {
		return err
	}
	return deletePods(ctx, c, ns, sel)
}

// deletePods deletes every pod of ns matching sel; pods already gone are fine.
func deletePods(ctx context.Context, c Client, ns string, sel api.Selector) error {
	if sel.Empty() {
		return nil // an RC without a selector would mean every pod: never
	}
	pods, _, err := c.List(ctx, api.Pods, store.ListOptions{Namespace: ns, Labels: sel})
	if err != nil {
		return fmt.Errorf("list pods %s: %w", sel, err)
	}
	for _, p := range pods {
		if _, err := c.Delete(ctx, api.Pods, ns, p.Meta().ID); err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("delete pod %s: %w", p.Meta().ID, err)
		}
	}
	return nil
}

// setReplicas sets an RC's desired replicas, retrying on conflicts.
func setReplicas(ctx context.Context, c Client, ns, id string, n int) (*api.ReplicationController, error) {
	for attempt := 0; ; attempt++ {
		obj, err := c.Get(ctx, api.ReplicationControllers, ns, id)
		if err != nil {
			return nil, err
		}
		rc := obj.(*api.ReplicationController)
		if rc.DesiredState.Replicas == n {
			return rc, nil
		}
		rc.DesiredState.Replicas = n
		out, err := c.Update(ctx, rc)
		if err == nil {
			return out.(*api.ReplicationController), nil
		}
		if !api.IsConflict(err) || attempt >= 10 {
			return nil, err
		}
	}
}
