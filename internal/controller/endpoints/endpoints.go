package endpoints

import (
	"context"
	"fmt"
	"net"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/controller"
	"kubelite/internal/logging"
	"kubelite/internal/store"
	"kubelite/internal/workqueue"
)

// Config configures a Controller.
type Config struct {
	Store store.Store
	Log   *logrus.Entry // nil: logs nothing; the wiring sets its component field
	Clock clock.Clock   // nil: the wall clock (backoff only)
	// Workers sync different services at once (default 4).
	Workers int
}

// Controller keeps endpoints; see the package doc.
type Controller struct {
	cfg   Config
	st    store.Store
	queue *workqueue.Queue
	log   *logrus.Entry

	services *store.Informer
	pods     *store.Informer
	minions  *store.Informer

	owners *controller.PodOwners // which services select a pod

	readyMu sync.Mutex
	ready   map[string]bool // minion id -> Ready when last seen
}

// New returns a controller; call Run.
func New(cfg Config) *Controller {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	c := &Controller{
		cfg: cfg, st: cfg.Store,
		queue: workqueue.New(cfg.Clock, 50*time.Millisecond, 10*time.Second).Named("endpoints"),
		log:   logging.OrDiscard(cfg.Log),
		ready: map[string]bool{},
	}
	c.services = store.NewInformer(cfg.Store, api.Services, store.ListOptions{}, c.queue.Add).WithLog(c.log)
	c.pods = store.NewInformer(cfg.Store, api.Pods, store.ListOptions{}, c.onPod).WithLog(c.log)
	c.minions = store.NewInformer(cfg.Store, api.Minions, store.ListOptions{}, c.onMinion).WithLog(c.log)
	c.owners = controller.NewPodOwners(c.pods, c.services, func(o api.Object) map[string]string {
		return o.(*api.Service).Selector
	})
	return c
}

// Name implements component.Component.
func (c *Controller) Name() string { return "endpoints-controller" }

// Run implements component.Component.
func (c *Controller) Run(ctx context.Context, started func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer store.StartInformers(ctx, c.services, c.pods, c.minions)()
	if !c.WaitSynced(ctx) {
		return nil
	}
	if err := c.deleteOrphans(ctx); err != nil {
		c.log.WithError(err).Warn("delete endpoints of deleted services")
	}
	started()
	c.queue.Run(ctx, c.cfg.Workers, c.Sync)
	return nil
}

// WaitSynced waits for both caches and queues every service.
func (c *Controller) WaitSynced(ctx context.Context) bool {
	if !c.services.WaitSynced(ctx) || !c.pods.WaitSynced(ctx) || !c.minions.WaitSynced(ctx) {
		return false
	}
	for _, k := range c.minions.Keys() {
		c.onMinion(k)
	}
	for _, k := range c.pods.Keys() {
		c.onPod(k)
	}
	for _, k := range c.services.Keys() {
		c.queue.Add(k)
	}
	return true
}

// deleteOrphans removes endpoints whose service was deleted while no
// controller ran.
func (c *Controller) deleteOrphans(ctx context.Context) error {
	objs, _, err := c.st.List(ctx, api.EndpointsResource, store.ListOptions{})
	if err != nil {
		return err
	}
	for _, o := range objs {
		if _, ok := c.services.Get(api.Key(o)); !ok {
			c.queue.Add(api.Key(o))
		}
	}
	return nil
}

func selects(svc *api.Service, ns string, labels map[string]string) bool {
	return controller.Selects(svc.Selector, controller.NamespaceOf(svc), ns, labels)
}

// onPod queues the services that select the pod now or selected it before.
func (c *Controller) onPod(key string) {
	for _, o := range c.owners.Changed(key).Owners {
		c.queue.Add(o.Key)
	}
}

// onMinion queues the services of the pods bound to a minion whose
// readiness changed (a heartbeat that changes nothing queues nothing).
func (c *Controller) onMinion(key string) {
	ready := c.minionReady(key)
	_, exists := c.minions.Get(key)
	c.readyMu.Lock()
	was, known := c.ready[key]
	if exists {
		c.ready[key] = ready
	} else {
		delete(c.ready, key)
	}
	c.readyMu.Unlock()
	if known && was == ready {
		return
	}
	for _, o := range c.pods.List() {
		if o.(*api.Pod).DesiredState.Host == key {
			c.onPod(api.Key(o))
		}
	}
}

// minionReady reports whether the minion host is known and Ready.
func (c *Controller) minionReady(host string) bool {
	obj, ok := c.minions.Get(host)
	return ok && obj.(*api.Minion).Status.Condition == api.MinionReady
}

// Running reports whether a pod serves: Running and not finished.
func Running(p *api.Pod) bool {
	switch p.CurrentState.Phase {
	case api.PodPhaseRunning:
		return true
	case "":
		return p.CurrentState.Status == api.PodRunning
	}
	return false
}

// PortFor returns the port of pod that svc targets, or false.
func PortFor(svc *api.Service, p *api.Pod) (int, bool) {
	cp := svc.ContainerPort
	if cp.Kind == api.IntstrString && cp.StrVal != "" {
		for _, c := range p.DesiredState.Manifest.Containers {
			for _, port := range c.Ports {
				if port.Name == cp.StrVal {
					return port.ContainerPort, true
				}
			}
		}
		return 0, false
	}
	if cp.Kind == api.IntstrInt && cp.IntVal > 0 {
		return cp.IntVal, true
	}
	for _, c := range p.DesiredState.Manifest.Containers {
		for _, port := range c.Ports {
			if port.ContainerPort > 0 {
				return port.ContainerPort, true
			}
		}
	}
	if svc.Port > 0 {
		return svc.Port, true
	}
	return 0, false
}

// Compute returns the sorted endpoints of svc among pods. Only pods bound
// to a minion (desiredState.host set) that ready reports Ready count: a
// pod's status is written through the API, so an unscheduled pod, or one
// on a dead minion, with a Running status and a podIP of its writer's
// choosing must not receive a service's traffic.
func Compute(svc *api.Service, pods []*api.Pod, ready func(host string) bool) []string {
	out := []string{}
	ns := controller.NamespaceOf(svc)
	for _, p := range pods {
		if controller.NamespaceOf(p) != ns || !selects(svc, ns, p.Labels) || !Running(p) || p.CurrentState.PodIP == "" {
			continue
		}
		if h := p.DesiredState.Host; h == "" || !ready(h) {
			continue
		}
		port, ok := PortFor(svc, p)
		if !ok {
			continue
		}
		out = append(out, net.JoinHostPort(p.CurrentState.PodIP, strconv.Itoa(port)))
	}
	sort.Strings(out)
	return out
}

// Sync converges the endpoints of the service with key.
func (c *Controller) Sync(ctx context.Context, key string) error {
	k := api.ParseKey(key)
	ns, id := k.NamespaceOrDefault(), k.ID
	obj, ok := c.services.Get(key)
	if !ok {
		if _, err := c.st.Delete(ctx, api.EndpointsResource, ns, id); err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("delete endpoints %s: %w", key, err)
		}
		return nil
	}
	svc := obj.(*api.Service)
	var pods []*api.Pod
	for _, o := range c.pods.List() {
		pods = append(pods, o.(*api.Pod))
	}
	want := Compute(svc, pods, c.minionReady)
	cur, err := c.st.Get(ctx, api.EndpointsResource, ns, id)
	switch {
	case api.IsNotFound(err):
		ep := &api.Endpoints{TypeMeta: api.TypeMeta{ID: id, Namespace: ns}, Endpoints: want}
		if _, err := c.st.Create(ctx, ep); err != nil && !api.IsAlreadyExists(err) {
			return fmt.Errorf("create endpoints %s: %w", key, err)
		} else if err != nil {
			return fmt.Errorf("create endpoints %s: %w", key, err) // retry as an update
		}
		return nil
	case err != nil:
		return fmt.Errorf("get endpoints %s: %w", key, err)
	}
	ep := cur.(*api.Endpoints)
	if reflect.DeepEqual(ep.Endpoints, want) || (len(ep.Endpoints) == 0 && len(want) == 0) {
		return nil
	}
	ep.Endpoints = want
	if _, err := c.st.Update(ctx, ep); err != nil {
		return fmt.Errorf("update endpoints %s: %w", key, err)
	}
	c.log.WithField("service", key).Debugf("endpoints %v", want)
	return nil
}
