package registry_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/registry"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/store/storetest"
)

var t0 = time.Date(2014, 12, 19, 23, 59, 39, 0, time.UTC)

func cidr(s string) *net.IPNet { _, n, _ := net.ParseCIDR(s); return n }

// start runs a registry over raw until the test ends.
func start(t *testing.T, raw store.Store, cfg registry.Config) *registry.Registry {
	t.Helper()
	r, _ := startStop(t, raw, cfg)
	return r
}

// startStop runs a registry over raw; stop (also run at cleanup) stops it.
func startStop(t *testing.T, raw store.Store, cfg registry.Config) (*registry.Registry, func()) {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = clock.NewFake(t0)
	}
	r, err := registry.New(raw, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- r.Run(ctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("registry did not start: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("registry did not start within 10s")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("registry run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return r, stop
}

func readyMinion(id string) *api.Minion {
	return &api.Minion{TypeMeta: api.TypeMeta{ID: id}, HostIP: "10.0.0.1", Status: api.MinionStatus{Condition: api.MinionReady}}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestContractOverMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		raw := memory.New()
		// The contract sets desiredState.host directly: through the registry
		// that is a bind, so the minion must exist.
		if _, err := raw.Create(context.Background(), readyMinion("m1")); err != nil {
			t.Fatal(err)
		}
		return start(t, raw, registry.Config{})
	})
}

func pod(id string, hostPorts ...int) *api.Pod {
	c := api.Container{Name: "web", Image: "kubelite/webserver:v1"}
	for _, hp := range hostPorts {
		c.Ports = append(c.Ports, api.Port{ContainerPort: 80, HostPort: hp})
	}
	return &api.Pod{
		TypeMeta:     api.TypeMeta{ID: id, Labels: map[string]string{"name": "web"}},
		DesiredState: api.PodState{Manifest: api.ContainerManifest{Containers: []api.Container{c}}},
	}
}

func causes(err error) string {
	if err == nil {
		return "<nil>"
	}
	st := api.StatusOf(err)
	if st.Details == nil {
		return ""
	}
	var f []string
	for _, c := range st.Details.Causes {
		f = append(f, c.Field)
	}
	sort.Strings(f)
	return strings.Join(f, " ")
}

func TestCreateSetsMetaAndDefaults(t *testing.T) {
	raw := memory.New()
	r := start(t, raw, registry.Config{})
	c := ctx(t)
	in := pod("web-1")
	in.UID, in.SelfLink = "client-uid", "/client"
	out, err := r.Create(c, in)
	if err != nil {
		t.Fatal(err)
	}
	p := out.(*api.Pod)
	if p.Kind != "Pod" || p.APIVersion != "v1beta1" || p.Namespace != "default" {
		t.Errorf("kind/apiVersion/namespace: %q %q %q", p.Kind, p.APIVersion, p.Namespace)
	}
	if len(p.UID) != 36 || p.UID == "client-uid" {
		t.Errorf("uid %q", p.UID)
	}
	if !p.CreationTimestamp.Equal(t0) {
		t.Errorf("creationTimestamp %v", p.CreationTimestamp)
	}
	if p.SelfLink != "/api/v1beta1/pods/web-1?namespace=default" {
		t.Errorf("selfLink %q", p.SelfLink)
	}
	if m := p.DesiredState.Manifest; m.Version != "v1beta1" || m.ID != "web-1" || m.RestartPolicy.Always == nil || m.Containers[0].ImagePullPolicy != api.PullIfNotPresent || m.UUID != p.UID {
		t.Errorf("manifest defaults: %+v", m)
	}
	if in.Kind != "" || in.UID != "client-uid" {
		t.Errorf("create mutated the caller's object: %+v", in.TypeMeta)
	}
	mi, err := r.Create(c, &api.Minion{TypeMeta: api.TypeMeta{ID: "192.168.1.201", Namespace: "ignored"}})
	if err != nil {
		t.Fatal(err)
	}
	if mi.Meta().Namespace != "" || mi.Meta().SelfLink != "/api/v1beta1/minions/192.168.1.201" {
		t.Errorf("minion meta %+v", mi.Meta())
	}
	// Update keeps uid and creationTimestamp whatever the client sends.
	uid := p.UID
	p.UID, p.CreationTimestamp = "other", time.Time{}
	p.Labels = map[string]string{"v": "2"}
	up, err := r.Update(c, p)
	if err != nil {
		t.Fatal(err)
	}
	if up.Meta().UID != uid || !up.Meta().CreationTimestamp.Equal(t0) || up.Meta().Labels["v"] != "2" {
		t.Errorf("update lost server fields: %+v", up.Meta())
	}
}

func TestCreateValidation(t *testing.T) {
	r := start(t, memory.New(), registry.Config{})
	cases := []struct {
		name string
		obj  api.Object
		want string // sorted fields of the causes
	}{
		{"pod without image, bad port", func() api.Object {
			p := pod("bad")
			p.DesiredState.Manifest.Containers[0].Image = ""
			p.DesiredState.Manifest.Containers[0].Ports = []api.Port{{ContainerPort: 70000}}
			return p
		}(), "desiredState.manifest.containers[0].image desiredState.manifest.containers[0].ports[0].containerPort"},
		{"pod bad id", pod("Bad_Id"), "id"},
		{"rc without selector", &api.ReplicationController{TypeMeta: api.TypeMeta{ID: "rc"},
			DesiredState: api.ReplicationControllerState{PodTemplate: api.PodTemplate{DesiredState: pod("x").DesiredState}}},
			"desiredState.replicaSelector"},
		{"service without selector, id with digit first", &api.Service{TypeMeta: api.TypeMeta{ID: "1svc"}, Port: 80}, "id selector"},
		{"rc without id", &api.ReplicationController{}, "desiredState.replicaSelector id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Create(ctx(t), tc.obj)
			if !api.IsInvalid(err) {
				t.Fatalf("want 422 Invalid, got %v", err)
			}
			if got := causes(err); got != tc.want {
				t.Fatalf("causes %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
}

func TestGeneratedNames(t *testing.T) {
	r := start(t, memory.New(), registry.Config{})
	c := ctx(t)
	p := pod("")
	out, err := r.Create(c, p)
	if err != nil {
		t.Fatal(err)
	}
	if id := out.Meta().ID; !strings.HasPrefix(id, "pod-") || len(id) != 9 || out.(*api.Pod).DesiredState.Manifest.ID != id {
		t.Errorf("pod without id named %q", id)
	}
	p = pod("")
	p.GenerateName = "webservercontroller-"
	out, err = r.Create(c, p)
	if err != nil {
		t.Fatal(err)
	}
	if id := out.Meta().ID; !strings.HasPrefix(id, "webservercontroller-") || len(id) != len("webservercontroller-")+5 {
		t.Errorf("RC pod named %q", id)
	}
	// A resource other than pods has no default prefix.
	if _, err := r.Create(c, &api.Service{Port: 80, Selector: map[string]string{"a": "b"}}); !api.IsInvalid(err) || causes(err) != "id" {
		t.Errorf("service without id: %v", err)
	}
}

// collide makes the first n creates fail with AlreadyExists.
type collide struct {
	store.Store
	n     atomic.Int32
	names []string
	mu    sync.Mutex
}

func (c *collide) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	c.mu.Lock()
	c.names = append(c.names, obj.Meta().ID)
	c.mu.Unlock()
	if c.n.Add(-1) >= 0 {
		return nil, api.NewAlreadyExists("Pod", obj.Meta().ID)
	}
	return c.Store.Create(ctx, obj)
}

func TestGeneratedNameRetriedWhenTaken(t *testing.T) {
	raw := &collide{Store: memory.New()}
	r := start(t, raw, registry.Config{})
	raw.n.Store(3)
	p := pod("")
	p.GenerateName = "rc-"
	out, err := r.Create(ctx(t), p)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw.names) != 4 || out.Meta().ID != raw.names[3] {
		t.Fatalf("tried %v, got %q", raw.names, out.Meta().ID)
	}
	// A client-chosen id is not retried.
	raw.n.Store(1)
	if _, err := r.Create(ctx(t), pod("fixed")); !api.IsAlreadyExists(err) {
		t.Fatalf("fixed id: want AlreadyExists, got %v", err)
	}
}

func svc(id, portal string) *api.Service {
	return &api.Service{TypeMeta: api.TypeMeta{ID: id}, Port: 8080, Selector: map[string]string{"name": id}, PortalIP: portal}
}

func TestPortalIPs(t *testing.T) {
	raw := memory.New()
	// A /29 has 6 usable addresses, .1 to .6.
	r := start(t, raw, registry.Config{PortalNet: cidr("10.254.0.0/29")})
	c := ctx(t)
	seen := map[string]string{}
	create := func(id, want string) (*api.Service, error) {
		o, err := r.Create(c, svc(id, want))
		if err != nil {
			return nil, err
		}
		s := o.(*api.Service)
		if prev, dup := seen[s.PortalIP]; dup {
			t.Fatalf("%s got %s, already given to %s", id, s.PortalIP, prev)
		}
		seen[s.PortalIP] = id
		return s, nil
	}
	s1, err := create("web", "")
	if err != nil {
		t.Fatal(err)
	}
	if !cidr("10.254.0.0/29").Contains(net.ParseIP(s1.PortalIP)) || s1.PortalIP == "10.254.0.0" || s1.PortalIP == "10.254.0.7" {
		t.Fatalf("portal IP %s", s1.PortalIP)
	}
	if s1.Protocol != "TCP" || s1.SessionAffinity != "None" || s1.ContainerPort.IntVal != 8080 {
		t.Errorf("service defaults: %+v", s1)
	}
	// A requested free address is honoured; a taken, out of range, network or broadcast one is 422.
	requested := "10.254.0.6"
	if s1.PortalIP == requested {
		requested = "10.254.0.5"
	}
	if s, err := create("req", requested); err != nil || s.PortalIP != requested {
		t.Fatalf("requested %s: %v %v", requested, s, err)
	}
	for _, bad := range []string{requested, "10.254.0.0", "10.254.0.7", "10.0.0.1", "not-an-ip"} {
		if _, err := r.Create(c, svc("bad", bad)); !api.IsInvalid(err) || causes(err) != "portalIP" {
			t.Errorf("portalIP %s: want 422 on portalIP, got %v", bad, err)
		}
	}
	// Immutable on update; an update without one keeps it.
	s1.PortalIP = ""
	s1.Port = 9090
	up, err := r.Update(c, s1)
	if err != nil || up.(*api.Service).PortalIP == "" {
		t.Fatalf("update without portalIP: %v %v", up, err)
	}
	webIP := up.(*api.Service).PortalIP
	other := "10.254.0.1"
	if up.(*api.Service).PortalIP == other {
		other = "10.254.0.2"
	}
	up.(*api.Service).PortalIP = other
	if _, err := r.Update(c, up); !api.IsInvalid(err) || causes(err) != "portalIP" {
		t.Fatalf("changing portalIP: want 422, got %v", err)
	}
	// Fill the network; the next one is refused with a clear 409.
	for i := 0; len(seen) < 6; i++ {
		if _, err := create(fmt.Sprintf("fill%d", i), ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Create(c, svc("full", "")); code(err) != 409 || !strings.Contains(err.Error(), "no portal IP left") {
		t.Fatalf("full portal net: %v", err)
	}
	// Delete releases.
	if _, err := r.Delete(c, api.Services, "default", "web"); err != nil {
		t.Fatal(err)
	}
	delete(seen, webIP)
	s, err := create("again", "")
	if err != nil || s.PortalIP != webIP {
		t.Fatalf("after delete: %v %v", s, err)
	}
	// A new registry over the same store (a restart) never reuses a live address.
	r2 := start(t, raw, registry.Config{PortalNet: cidr("10.254.0.0/29")})
	if _, err := r2.Create(c, svc("after-restart", "")); code(err) != 409 {
		t.Fatalf("restarted registry handed out an address of a full network: %v", err)
	}
	if _, err := r2.Delete(c, api.Services, "default", "fill0"); err != nil {
		t.Fatal(err)
	}
	o, err := r2.Create(c, svc("after-restart", ""))
	if err != nil {
		t.Fatal(err)
	}
	if owner, dup := seen[o.(*api.Service).PortalIP]; dup && owner != "fill0" {
		t.Fatalf("restarted registry reused %s of live service %s", o.(*api.Service).PortalIP, owner)
	}
}

func TestPortalNetMustBeIPv4(t *testing.T) {
	if _, err := registry.New(memory.New(), registry.Config{PortalNet: cidr("fd00::/64")}); err == nil {
		t.Fatal("IPv6 portal net accepted")
	}
}

// code is the HTTP code of err, 0 for nil.
func code(err error) int {
	if err == nil {
		return 0
	}
	return api.StatusOf(err).Code
}

func bind(r *registry.Registry, c context.Context, podID, host string) error {
	_, err := r.Create(c, &api.Binding{PodID: podID, Host: host})
	return err
}

func TestBinding(t *testing.T) {
	raw := memory.New()
	c := context.Background()
	m1 := readyMinion("m1")
	m1.Resources.Capacity = api.Capacity{CPU: 1000, Memory: 1 << 30}
	m1.Labels = map[string]string{"disk": "ssd"}
	notReady := readyMinion("m2")
	notReady.Status.Condition = api.MinionNotReady
	cordoned := readyMinion("m3")
	cordoned.Unschedulable = true
	for _, m := range []*api.Minion{m1, notReady, cordoned} {
		if _, err := raw.Create(c, m); err != nil {
			t.Fatal(err)
		}
	}
	r := start(t, raw, registry.Config{})
	mk := func(p *api.Pod) {
		t.Helper()
		if _, err := r.Create(c, p); err != nil {
			t.Fatal(err)
		}
	}
	big := pod("big")
	big.DesiredState.Manifest.Containers[0].CPU = 800
	sel := pod("picky")
	sel.NodeSelector = map[string]string{"disk": "hdd"}
	udp := pod("udp")
	udp.DesiredState.Manifest.Containers[0].Ports = []api.Port{{ContainerPort: 53, HostPort: 8080, Protocol: "UDP"}}
	for _, p := range []*api.Pod{pod("a", 8080), pod("b", 8080), pod("c"), big, pod("big2"), sel, udp} {
		mk(p)
	}
	big2, _ := r.Get(c, api.Pods, "default", "big2")
	bp := big2.(*api.Pod)
	bp.DesiredState.Manifest.Containers[0].CPU = 300
	if _, err := r.Update(c, bp); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		pod, host string
		code      int
		msg       string
	}{
		{"a", "m1", 0, ""},
		{"a", "m1", 409, "already bound"},
		{"b", "m1", 409, "hostPort 8080 in use"},
		{"udp", "m1", 0, ""}, // same port, other protocol
		{"c", "nope", 422, `minion "nope" does not exist`},
		{"c", "m2", 409, "minion NotReady"},
		{"c", "m3", 409, "minion unschedulable"},
		{"missing", "m1", 404, ""},
		{"big", "m1", 0, ""},
		{"big2", "m1", 409, "insufficient cpu"},
		{"picky", "m1", 409, "nodeSelector mismatch"},
		{"c", "m1", 0, ""},
	}
	for _, s := range steps {
		err := bind(r, c, s.pod, s.host)
		st := api.Status{}
		if err != nil {
			st = api.StatusOf(err)
		}
		if s.code == 0 {
			if err != nil {
				t.Fatalf("bind %s to %s: %v", s.pod, s.host, err)
			}
			got, _ := r.Get(c, api.Pods, "default", s.pod)
			if h := got.(*api.Pod).DesiredState.Host; h != s.host {
				t.Fatalf("after bind %s: host %q", s.pod, h)
			}
			continue
		}
		if err == nil || st.Code != s.code || !strings.Contains(st.Message, s.msg) {
			t.Fatalf("bind %s to %s: got %v (%d), want %d %q", s.pod, s.host, err, st.Code, s.code, s.msg)
		}
	}
	// Deleting a bound pod frees its port at once.
	if _, err := r.Delete(c, api.Pods, "default", "a"); err != nil {
		t.Fatal(err)
	}
	if err := bind(r, c, "b", "m1"); err != nil {
		t.Fatalf("bind after the holder was deleted: %v", err)
	}
	// Setting the host through create and update is a bind too.
	p := pod("direct", 8080)
	p.DesiredState.Host = "m1"
	if _, err := r.Create(c, p); code(err) != 409 || !strings.Contains(err.Error(), "hostPort 8080 in use") {
		t.Fatalf("create with a taken hostPort: %v", err)
	}
	p.DesiredState.Manifest.Containers[0].Ports = nil
	if _, err := r.Create(c, p); err != nil {
		t.Fatalf("create bound pod: %v", err)
	}
	got, _ := r.Get(c, api.Pods, "default", "direct")
	gp := got.(*api.Pod)
	gp.DesiredState.Host = "m3"
	if _, err := r.Update(c, gp); code(err) != 409 || !strings.Contains(err.Error(), "already bound") {
		t.Fatalf("moving a bound pod: %v", err)
	}
	gp.DesiredState.Host = ""
	gp.Labels = map[string]string{"x": "y"}
	up, err := r.Update(c, gp)
	if err != nil || up.(*api.Pod).DesiredState.Host != "m1" {
		t.Fatalf("update without host must keep it: %v %v", up, err)
	}
	unbound := pod("later", 8080)
	mk(unbound)
	got, _ = r.Get(c, api.Pods, "default", "later")
	gp = got.(*api.Pod)
	gp.DesiredState.Host = "m1"
	if _, err := r.Update(c, gp); code(err) != 409 || !strings.Contains(err.Error(), "hostPort 8080 in use") {
		t.Fatalf("update binding onto a taken port: %v", err)
	}
	// Bindings are not readable.
	if _, _, err := r.List(c, api.Bindings, store.ListOptions{}); err == nil {
		t.Fatal("list bindings succeeded")
	}
}

// TestConcurrentBindsOnePort: many pods wanting hostPort 8080 race for one
// minion; exactly one wins, and every bind of distinct pods without ports succeeds.
func TestConcurrentBindsOnePort(t *testing.T) {
	raw := memory.New()
	c := context.Background()
	if _, err := raw.Create(c, readyMinion("m1")); err != nil {
		t.Fatal(err)
	}
	r := start(t, raw, registry.Config{})
	const n = 40
	for i := 0; i < n; i++ {
		if _, err := r.Create(c, pod(fmt.Sprintf("p%d", i), 8080)); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Create(c, pod(fmt.Sprintf("free%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var won, freeOK atomic.Int32
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			err := bind(r, c, fmt.Sprintf("p%d", i), "m1")
			if err == nil {
				won.Add(1)
			} else if !strings.Contains(err.Error(), "hostPort 8080 in use") {
				errs <- err
			}
		}()
		go func() {
			defer wg.Done()
			if err := bind(r, c, fmt.Sprintf("free%d", i), "m1"); err != nil {
				errs <- err
			} else {
				freeOK.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected bind error: %v", err)
	}
	if won.Load() != 1 || freeOK.Load() != n {
		t.Fatalf("%d pods won port 8080 (want 1); %d/%d port-less binds", won.Load(), freeOK.Load(), n)
	}
	// Two binds of the same pod to different minions: one wins.
	if _, err := raw.Create(c, readyMinion("m2")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(c, pod("twice")); err != nil {
		t.Fatal(err)
	}
	var ok atomic.Int32
	var wg2 sync.WaitGroup
	for _, h := range []string{"m1", "m2", "m1", "m2"} {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			err := bind(r, c, "twice", h)
			if err == nil {
				ok.Add(1)
			} else if !api.IsConflict(err) {
				t.Errorf("bind twice: %v", err)
			}
		}()
	}
	wg2.Wait()
	if ok.Load() != 1 {
		t.Fatalf("pod bound %d times", ok.Load())
	}
}

func TestBindBeforeRunIsUnavailable(t *testing.T) {
	r, err := registry.New(memory.New(), registry.Config{BindWait: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = bind(r, context.Background(), "p", "m1")
	if code(err) != 503 {
		t.Fatalf("bind before Run: %v", err)
	}
	var se *api.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("not a status error: %T", err)
	}
}

func TestUpdateUnconditionalRetriesOwnCAS(t *testing.T) {
	raw := memory.New()
	r := start(t, raw, registry.Config{})
	c := context.Background()
	if _, err := r.Create(c, pod("u")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := pod("u")
			p.Labels = map[string]string{"i": fmt.Sprint(i)}
			if _, err := r.Update(c, p); err != nil {
				t.Errorf("unconditional update %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
}
