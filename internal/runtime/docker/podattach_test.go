package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"kubelite/internal/runtime"
)

// fakeAttacher records what the runtime attaches and detaches; fail makes
// Attach fail.
type fakeAttacher struct {
	mu       sync.Mutex
	attached map[string]attachment // by host interface
	detached []string
	fail     error
}

var _ attacher = (*fakeAttacher)(nil)

func (f *fakeAttacher) Attach(ctx context.Context, a attachment) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	if f.attached == nil {
		f.attached = map[string]attachment{}
	}
	f.attached[a.HostIf] = a
	return nil
}

func (f *fakeAttacher) Detach(ctx context.Context, hostIf string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.attached, hostIf)
	f.detached = append(f.detached, hostIf)
	return nil
}

// fakeEngine is the part of the Engine API the pod network code uses:
// network inspect and remove, container create, start, inspect, list and
// remove. A started container on an engine network gets the address its
// create asked for.
type fakeEngine struct {
	mu   sync.Mutex
	nets map[string]*network.Inspect // by name and by ID
	cs   map[string]*fakeContainer
	n    int
}

type fakeContainer struct {
	id, name string
	req      container.CreateRequest
	state    string
	endpoint map[string]*network.EndpointSettings // engine network name -> endpoint, once running
}

func newFakeEngine(t *testing.T) (*fakeEngine, *client.Client) {
	e := &fakeEngine{nets: map[string]*network.Inspect{}, cs: map[string]*fakeContainer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{v}/networks/{name}", e.networkInspect)
	mux.HandleFunc("DELETE /{v}/networks/{name}", e.networkRemove)
	mux.HandleFunc("POST /{v}/containers/create", e.create)
	mux.HandleFunc("POST /{v}/containers/{id}/start", e.start)
	mux.HandleFunc("GET /{v}/containers/{id}/json", e.inspect)
	mux.HandleFunc("GET /{v}/containers/json", e.list)
	mux.HandleFunc("DELETE /{v}/containers/{id}", e.remove)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cli, err := client.NewClientWithOpts(client.WithHost("tcp://"+srv.Listener.Addr().String()), client.WithVersion("1.47"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return e, cli
}

func notFound(w http.ResponseWriter, what string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprintf(w, `{"message":"No such %s"}`, what)
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (e *fakeEngine) addNetwork(n network.Inspect) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nets[n.Name], e.nets[n.ID] = &n, &n
}

func (e *fakeEngine) networkInspect(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, ok := e.nets[r.PathValue("name")]
	if !ok {
		notFound(w, "network")
		return
	}
	reply(w, n)
}

func (e *fakeEngine) networkRemove(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n, ok := e.nets[r.PathValue("name")]
	if !ok {
		notFound(w, "network")
		return
	}
	delete(e.nets, n.Name)
	delete(e.nets, n.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (e *fakeEngine) create(w http.ResponseWriter, r *http.Request) {
	var req container.CreateRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	id := fmt.Sprintf("%012x%052x", e.n, e.n) // distinct short IDs (veth names)
	e.cs[id] = &fakeContainer{id: id, name: r.URL.Query().Get("name"), req: req, state: "created"}
	w.WriteHeader(http.StatusCreated)
	reply(w, container.CreateResponse{ID: id})
}

func (e *fakeEngine) start(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.cs[r.PathValue("id")]
	if !ok {
		notFound(w, "container")
		return
	}
	c.state = "running"
	c.endpoint = map[string]*network.EndpointSettings{}
	if mode := string(c.req.HostConfig.NetworkMode); !engineNetworkMode(mode) {
		ep := &network.EndpointSettings{NetworkID: e.nets[mode].ID}
		if nc := c.req.NetworkingConfig; nc != nil && nc.EndpointsConfig[mode] != nil && nc.EndpointsConfig[mode].IPAMConfig != nil {
			ep.IPAddress = nc.EndpointsConfig[mode].IPAMConfig.IPv4Address
		}
		c.endpoint[mode] = ep
	}
	w.WriteHeader(http.StatusNoContent)
}

func (c *fakeContainer) inspect() container.InspectResponse {
	in := container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: c.id, Name: "/" + c.name, Created: "2026-12-04T23:00:00Z",
			State:      &container.State{Status: container.ContainerState(c.state), Running: c.state == "running"},
			HostConfig: c.req.HostConfig,
		},
		Config:          c.req.Config,
		NetworkSettings: &container.NetworkSettings{Networks: c.endpoint},
	}
	if c.state == "running" {
		in.State.Pid = 4242
	}
	return in
}

func (e *fakeEngine) inspect(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.cs[r.PathValue("id")]
	if !ok {
		notFound(w, "container")
		return
	}
	reply(w, c.inspect())
}

func (e *fakeEngine) list(w http.ResponseWriter, r *http.Request) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	all := r.URL.Query().Get("all") == "1" || r.URL.Query().Get("all") == "true"
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []container.Summary{}
next:
	for _, c := range e.cs {
		if !all && c.state != "running" {
			continue
		}
		for _, kv := range f.Get("label") {
			k, v, _ := strings.Cut(kv, "=")
			if c.req.Labels[k] != v {
				continue next
			}
		}
		out = append(out, container.Summary{ID: c.id, State: container.ContainerState(c.state), Labels: c.req.Labels,
			NetworkSettings: &container.NetworkSettingsSummary{Networks: c.endpoint}})
	}
	reply(w, out)
}

func (e *fakeEngine) remove(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.cs[r.PathValue("id")]; !ok {
		notFound(w, "container")
		return
	}
	delete(e.cs, r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
}

func (e *fakeEngine) container(id string) (*fakeContainer, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, ok := e.cs[id]
	return c, ok
}

// podsNet is the fake engine's pod network (made by EnsureNetwork before).
var podsNet = network.Inspect{
	Name: "pods", ID: "net1", Driver: "bridge",
	IPAM:    network.IPAM{Config: []network.IPAMConfig{{Subnet: "10.9.0.0/24", Gateway: "10.9.0.1"}}},
	Options: map[string]string{optBridgeName: "klt0"},
	Labels:  map[string]string{runtime.LabelManaged: "true"},
}

func infraSpec(name string, ports ...runtime.PortBinding) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		Name: name, Image: "pause", Hostname: name, NetworkMode: "pods", Ports: ports,
		Labels: map[string]string{runtime.LabelPodUID: "uid-" + name, runtime.LabelContainerName: "POD"},
	}
}

func (r *Runtime) held(netID, ip string) string {
	r.pool.mu.Lock()
	defer r.pool.mu.Unlock()
	n := r.pool.nets[netID]
	if n == nil {
		return ""
	}
	h, ok := n.held[netip.MustParseAddr(ip)]
	if !ok {
		return ""
	}
	if h.id == "" {
		return "(in flight)"
	}
	return h.id
}

// TestPodAttach drives Create, Start, Inspect and Remove of pod infra
// containers against a fake engine and a fake attacher.
func TestPodAttach(t *testing.T) {
	ctx := context.Background()
	e, cli := newFakeEngine(t)
	e.addNetwork(podsNet)
	// A container the engine put on the network before (PodAttachDocker,
	// or an older kubelite): its address is taken.
	e.cs["legacy"] = &fakeContainer{id: "legacy", state: "running",
		req:      container.CreateRequest{Config: &container.Config{Labels: map[string]string{runtime.LabelManaged: "true"}}, HostConfig: &container.HostConfig{NetworkMode: "pods"}},
		endpoint: map[string]*network.EndpointSettings{"pods": {NetworkID: "net1", IPAddress: "10.9.0.254"}}}
	fa := &fakeAttacher{}
	rt := newRuntime(cli, fa)

	// Without host ports: network mode none, the address in a label and
	// in /etc/hosts, attached when started.
	p1, err := rt.Create(ctx, infraSpec("p1", runtime.PortBinding{ContainerPort: 80}))
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := e.container(p1)
	if hc := c1.req.HostConfig; hc.NetworkMode != "none" || len(hc.ExtraHosts) != 1 || hc.ExtraHosts[0] != "p1:10.9.0.253" || len(c1.req.ExposedPorts) != 0 {
		t.Fatalf("p1 host config: mode %q extra hosts %q exposed %v", hc.NetworkMode, hc.ExtraHosts, c1.req.ExposedPorts)
	}
	if l := c1.req.Labels; l[LabelPodIP] != "10.9.0.253" || l[LabelPodNetwork] != "net1" || l[LabelPodVeth] != "true" || l[runtime.LabelManaged] != "true" {
		t.Fatalf("p1 labels %v", l)
	}
	if c, err := rt.Inspect(ctx, p1); err != nil || c.IP != "" {
		t.Fatalf("p1 before start: ip %q %v, want none", c.IP, err)
	}
	if err := rt.Start(ctx, p1); err != nil {
		t.Fatal(err)
	}
	want := attachment{PID: 4242, HostIf: vethName(p1), Bridge: "klt0", Addr: netip.MustParsePrefix("10.9.0.253/24"), Gateway: netip.MustParseAddr("10.9.0.1")}
	if got := fa.attached[vethName(p1)]; got != want {
		t.Fatalf("attached %+v, want %+v", got, want)
	}
	if len(vethName(p1)) > 15 {
		t.Fatalf("veth name %q longer than 15", vethName(p1))
	}
	if c, err := rt.Inspect(ctx, p1); err != nil || c.IP != "10.9.0.253" {
		t.Fatalf("p1 running: ip %q %v, want 10.9.0.253", c.IP, err)
	}

	// With a host port: the engine's network, at an address of the pool.
	p2, err := rt.Create(ctx, infraSpec("p2", runtime.PortBinding{HostPort: 8080, ContainerPort: 80}))
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := e.container(p2)
	ep := c2.req.NetworkingConfig.EndpointsConfig["pods"]
	if c2.req.HostConfig.NetworkMode != "pods" || ep == nil || ep.IPAMConfig == nil || ep.IPAMConfig.IPv4Address != "10.9.0.252" || c2.req.Labels[LabelPodVeth] != "" || c2.req.Labels[LabelPodIP] != "10.9.0.252" {
		t.Fatalf("p2: mode %q endpoint %+v labels %v", c2.req.HostConfig.NetworkMode, ep, c2.req.Labels)
	}
	if err := rt.Start(ctx, p2); err != nil {
		t.Fatal(err)
	}
	if _, ok := fa.attached[vethName(p2)]; ok {
		t.Fatal("a container on the engine's network was attached by the runtime")
	}
	if c, err := rt.Inspect(ctx, p2); err != nil || c.IP != "10.9.0.252" {
		t.Fatalf("p2: ip %q %v", c.IP, err)
	}

	// An app container joins the infra's namespace: untouched.
	app, err := rt.Create(ctx, runtime.ContainerSpec{Name: "app", Image: "web", NetworkMode: "container:" + p1})
	if err != nil {
		t.Fatal(err)
	}
	if ca, _ := e.container(app); ca.req.HostConfig.NetworkMode != container.NetworkMode("container:"+p1) || ca.req.Labels[LabelPodIP] != "" {
		t.Fatalf("app: mode %q labels %v", ca.req.HostConfig.NetworkMode, ca.req.Labels)
	}

	// A failed attach fails Start, removes the container, frees its address.
	fa.fail = errors.New("no ip command")
	p3, err := rt.Create(ctx, infraSpec("p3"))
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(ctx, p3); err == nil || !strings.Contains(err.Error(), "no ip command") {
		t.Fatalf("start with a failing attach: %v", err)
	}
	if _, ok := e.container(p3); ok {
		t.Fatal("container of a failed attach left behind")
	}
	if h := rt.held("net1", "10.9.0.251"); h != "" {
		t.Fatalf("address of the failed start still held by %s", h)
	}
	fa.fail = nil

	// A restarted kubelet (new runtime) learns the addresses in use from
	// the engine: the legacy one, p1's label, p2's.
	rt2 := newRuntime(cli, fa)
	p4, err := rt2.Create(ctx, infraSpec("p4"))
	if err != nil {
		t.Fatal(err)
	}
	if c4, _ := e.container(p4); c4.req.Labels[LabelPodIP] != "10.9.0.251" {
		t.Fatalf("after a restart: %s, want 10.9.0.251 (.252 to .254 in use)", c4.req.Labels[LabelPodIP])
	}
	if err := rt2.Remove(ctx, p4); err != nil {
		t.Fatal(err)
	}

	// The network cannot go while p1 is attached.
	if err := rt.RemoveNetwork(ctx, "pods"); err == nil || !strings.Contains(err.Error(), "attached") {
		t.Fatalf("remove network with an attached pod: %v", err)
	}
	// Remove: the veth goes, the address is free.
	if err := rt.Remove(ctx, p1); err != nil {
		t.Fatal(err)
	}
	if len(fa.detached) == 0 || fa.detached[len(fa.detached)-1] != vethName(p1) {
		t.Fatalf("detached %v, want %s last", fa.detached, vethName(p1))
	}
	if h := rt.held("net1", "10.9.0.253"); h != "" {
		t.Fatalf("address of removed p1 still held by %s", h)
	}
	if err := rt.Remove(ctx, app); err != nil {
		t.Fatal(err)
	}
	if err := rt.Remove(ctx, p2); err != nil {
		t.Fatal(err)
	}
	if err := rt.RemoveNetwork(ctx, "pods"); err != nil {
		t.Fatal(err)
	}
}

// TestPodAttachDocker: with PodAttachDocker the engine's network does
// everything, as before.
func TestPodAttachDocker(t *testing.T) {
	ctx := context.Background()
	e, cli := newFakeEngine(t)
	e.addNetwork(podsNet)
	rt := newRuntime(cli, &fakeAttacher{})
	WithPodAttach(PodAttachDocker)(rt)
	id, err := rt.Create(ctx, infraSpec("p1"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.container(id)
	if c.req.HostConfig.NetworkMode != "pods" || c.req.Labels[LabelPodIP] != "" || c.req.NetworkingConfig != nil && len(c.req.NetworkingConfig.EndpointsConfig) > 0 {
		t.Fatalf("docker attach: mode %q labels %v networking %+v", c.req.HostConfig.NetworkMode, c.req.Labels, c.req.NetworkingConfig)
	}
	if err := CheckPodAttach("bogus"); err == nil {
		t.Fatal("CheckPodAttach accepted bogus")
	}
}

// The real attacher fails with the bridge's name when it is missing and
// without a process to attach; either way it leaves no veth behind. (Its
// success is TestPodAttachOnDocker's, on the real engine.)
func TestNetlinkAttacherErrors(t *testing.T) {
	a := attachment{PID: os.Getpid(), HostIf: "klptest" + strconv.Itoa(os.Getpid()%1e6), Bridge: "kl-absent-br",
		Addr: netip.MustParsePrefix("10.244.1.5/24"), Gateway: netip.MustParseAddr("10.244.1.1")}
	if err := (nlAttacher{}).Attach(context.Background(), a); err == nil || !strings.Contains(err.Error(), "kl-absent-br") {
		t.Fatalf("attach to a missing bridge: %v", err)
	}
	a.PID = 0
	if err := (nlAttacher{}).Attach(context.Background(), a); err == nil || !strings.Contains(err.Error(), "no process") {
		t.Fatalf("attach without a process: %v", err)
	}
	if _, err := net.InterfaceByName(a.HostIf); err == nil {
		t.Fatalf("%s left behind", a.HostIf)
	}
	if err := (nlAttacher{}).Detach(context.Background(), a.HostIf); err != nil {
		t.Fatalf("detach of a missing veth: %v", err)
	}
}
