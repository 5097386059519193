package remote_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/registry"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/store/remote"
	"kubelite/internal/store/storetest"
)

// serve starts an apiserver over backing on a loopback httptest server and
// returns a remote store talking to it.
func serve(t *testing.T, backing store.Store) *remote.Store {
	t.Helper()
	srv, err := apiserver.New(apiserver.Config{Store: backing})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	r, err := remote.New(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The store contract holds end to end: remote -> HTTP -> apiserver -> memory.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return serve(t, memory.New()) })
}

// overRegistry serves a registry over a memory store holding a ready minion m1.
func overRegistry(t *testing.T) *remote.Store { return overRegistryWith(t, registry.Config{}) }

func overRegistryWith(t *testing.T, cfg registry.Config) *remote.Store {
	raw := memory.New()
	m := &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}, HostIP: "10.0.0.1", Status: api.MinionStatus{Condition: api.MinionReady}}
	if _, err := raw.Create(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.New(raw, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() { done <- reg.Run(ctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("registry did not start: %v", err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return serve(t, reg)
}

// And through the registry (API semantics) over memory, as a master serves
// it (the contract sets desiredState.host directly: through the registry
// that is a bind, so the minion m1 exists).
func TestContractThroughRegistry(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return overRegistry(t) })
}

// A binding goes through POST /bindings to the registry's bind; validation
// failures keep their causes across the wire.
func TestBindAndInvalidThroughRegistry(t *testing.T) {
	r := overRegistry(t)
	ctx := context.Background()
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: "web"}, DesiredState: api.PodState{Manifest: api.ContainerManifest{
		Version: "v1beta1", Containers: []api.Container{{Name: "c", Image: "busybox", Ports: []api.Port{{ContainerPort: 80, HostPort: 8080}}}}}}}
	if _, err := r.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, &api.Binding{PodID: "web", Host: "m1"}); err != nil {
		t.Fatalf("bind: %v", err)
	}
	got, err := r.Get(ctx, api.Pods, "", "web")
	if err != nil || got.(*api.Pod).DesiredState.Host != "m1" {
		t.Fatalf("after bind: %v %v", got, err)
	}
	if _, err := r.Create(ctx, &api.Binding{PodID: "web", Host: "m1"}); err == nil || api.StatusOf(err).Code >= 500 {
		t.Fatalf("second bind: want a 4xx refusal, got %v", err)
	}
	bad := &api.Pod{TypeMeta: api.TypeMeta{ID: "Bad_Name"}, DesiredState: api.PodState{Manifest: api.ContainerManifest{
		Version: "v1beta1", Containers: []api.Container{{Name: "c", Ports: []api.Port{{ContainerPort: 70000}}}}}}}
	_, err = r.Create(ctx, bad)
	if !api.IsInvalid(err) {
		t.Fatalf("want Invalid, got %v", err)
	}
	st := api.StatusOf(err)
	if st.Code != 422 || st.Details == nil || len(st.Details.Causes) < 3 {
		t.Fatalf("want 422 with a cause per bad field (id, image, port), got %+v", st)
	}
}

func TestWatchGoneRemote(t *testing.T) {
	mem := memory.NewWithHistory(2)
	r := serve(t, mem)
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c", "d"} {
		if _, err := r.Create(ctx, &api.Pod{TypeMeta: api.TypeMeta{ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Watch(ctx, api.Pods, store.ListOptions{ResourceVersion: 1}); !api.IsGone(err) {
		t.Fatalf("want Gone, got %v", err)
	}
}

func TestWatchClosesWhenStreamEnds(t *testing.T) {
	mem := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: mem})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	r, err := remote.New(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := r.Watch(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, &api.Pod{TypeMeta: api.TypeMeta{ID: "x"}}); err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Type != store.Added || ev.Object.Meta().ID != "x" {
		t.Fatalf("got %v %v", ev.Type, ev.Object)
	}
	hs.CloseClientConnections() // the master goes away mid-stream
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatalf("got an event after the stream broke")
		}
	case <-ctx.Done():
		t.Fatalf("watch channel not closed after the stream ended")
	}
}

func TestErrorsAcrossTheWire(t *testing.T) {
	r := serve(t, memory.New())
	ctx := context.Background()
	cases := []struct {
		name string
		do   func() error
		is   func(error) bool
	}{
		{"get missing", func() error { _, err := r.Get(ctx, api.Pods, "", "nope"); return err }, api.IsNotFound},
		{"delete missing", func() error { _, err := r.Delete(ctx, api.Services, "default", "nope"); return err }, api.IsNotFound},
		{"create without id", func() error { _, err := r.Create(ctx, &api.Pod{}); return err }, api.IsInvalid},
		{"update missing", func() error {
			_, err := r.Update(ctx, &api.Pod{TypeMeta: api.TypeMeta{ID: "nope", ResourceVersion: 3}})
			return err
		}, api.IsNotFound},
	}
	for _, tc := range cases {
		err := tc.do()
		if !tc.is(err) {
			t.Errorf("%s: got %v (%T)", tc.name, err, err)
		}
	}
}

func TestDeleteReturnsIdentity(t *testing.T) {
	r := serve(t, memory.New())
	ctx := context.Background()
	if _, err := r.Create(ctx, &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}, HostIP: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	obj, err := r.Delete(ctx, api.Minions, "", "m1")
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := obj.(*api.Minion); !ok || m.ID != "m1" || m.Kind != "Minion" {
		t.Fatalf("delete returned %#v", obj)
	}
}

func TestBindingPostsToBindings(t *testing.T) {
	var got string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"kind":"Binding","podID":"p","host":"m1"}`))
	}))
	defer hs.Close()
	r, err := remote.New(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Create(context.Background(), &api.Binding{PodID: "p", Host: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "POST /api/v1beta1/bindings?namespace=default"; got != want {
		t.Fatalf("request %q, want %q", got, want)
	}
	if b := out.(*api.Binding); b.Host != "m1" {
		t.Fatalf("answer %#v", b)
	}
}

func TestNonStatusErrorBody(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such thing", http.StatusNotFound)
	}))
	defer hs.Close()
	r, err := remote.New(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Get(context.Background(), api.Pods, "", "x")
	if !api.IsNotFound(err) || !strings.Contains(err.Error(), "no such thing") {
		t.Fatalf("got %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r, err := remote.New(addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = r.List(context.Background(), api.Pods, store.ListOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "reach master http://"+addr+": ") || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("got %v", err)
	}
	if _, err := r.Watch(context.Background(), api.Pods, store.ListOptions{}); err == nil || !strings.Contains(err.Error(), "reach master") {
		t.Fatalf("watch: got %v", err)
	}
}

func TestServerVersionAndStream(t *testing.T) {
	mem := memory.New()
	ctx := context.Background()
	if _, err := mem.Create(ctx, &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}, HostIP: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	var proxied string
	srv, err := apiserver.New(apiserver.Config{
		Store:   mem,
		Version: api.ServerVersion{Major: "0", Minor: "6+", GitVersion: "v0.6.2-kubelite"},
		Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			proxied = r.URL.String()
			return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("line 1\nline 2\n")), Header: http.Header{}, Request: r}, nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	r, err := remote.New(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	v, err := r.ServerVersion(ctx)
	if err != nil || v.Major != "0" || v.Minor != "6+" || v.GitVersion != "v0.6.2-kubelite" {
		t.Fatalf("version %+v %v", v, err)
	}
	body, err := r.Stream(ctx, "/api/v1beta1/proxy/minions/m1/containerLogs/default/web/c")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(body)
	body.Close()
	if string(data) != "line 1\nline 2\n" || proxied != "http://10.0.0.1:10250/containerLogs/default/web/c" {
		t.Fatalf("got %q via %q", data, proxied)
	}
	if _, err := r.Stream(ctx, "/api/v1beta1/proxy/minions/nope/containerLogs/x"); !api.IsNotFound(err) {
		t.Fatalf("missing minion: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// recorded is a store.Heartbeater noting the names it was given.
type recorded struct {
	mu    sync.Mutex
	names []string
}

func (r *recorded) Heartbeat(ctx context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.names = append(r.names, name)
	return nil
}

// A heartbeat crosses the wire to the registry's Heartbeater, for a
// registered minion only; a master recording none answers
// store.ErrNoHeartbeats.
func TestHeartbeatAcrossTheWire(t *testing.T) {
	ctx := context.Background()
	if err := overRegistry(t).Heartbeat(ctx, "m1"); !errors.Is(err, store.ErrNoHeartbeats) {
		t.Fatalf("heartbeat to a master recording none: %v, want ErrNoHeartbeats", err)
	}
	rec := &recorded{}
	r := overRegistryWith(t, registry.Config{Heartbeats: rec})
	if err := r.Heartbeat(ctx, "m1"); err != nil {
		t.Fatalf("heartbeat of m1: %v", err)
	}
	if err := r.Heartbeat(ctx, "m9"); !api.IsNotFound(err) {
		t.Fatalf("heartbeat of an unregistered minion: %v, want NotFound", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.names) != 1 || rec.names[0] != "m1" {
		t.Fatalf("recorded %v, want [m1]", rec.names)
	}
}

// A pod's status write crosses the wire to the registry's status write:
// only currentState changes, the answer is the version written, a stale
// version is a conflict and a missing pod NotFound.
func TestPodStatusAcrossTheWire(t *testing.T) {
	ctx := context.Background()
	r := overRegistry(t)
	p := &api.Pod{TypeMeta: api.TypeMeta{ID: "p", Labels: map[string]string{"app": "web"}},
		DesiredState: api.PodState{Host: "m1", Manifest: api.ContainerManifest{Containers: []api.Container{{Name: "web", Image: "kubelite/webserver:v1"}}}}}
	o, err := r.Create(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	created := o.(*api.Pod)
	in := &api.Pod{TypeMeta: api.TypeMeta{ID: "p", ResourceVersion: created.ResourceVersion, Labels: map[string]string{"app": "changed"}},
		CurrentState: api.PodState{Status: api.PodRunning, Host: "m1", PodIP: "10.1.0.2"}}
	rv, err := r.UpdatePodStatus(ctx, in)
	if err != nil {
		t.Fatalf("status write: %v", err)
	}
	if rv <= created.ResourceVersion {
		t.Errorf("answer: version %d, want more than the created %d", rv, created.ResourceVersion)
	}
	got, err := r.Get(ctx, api.Pods, "", "p")
	if err != nil {
		t.Fatal(err)
	}
	if g := got.(*api.Pod); g.CurrentState.Status != api.PodRunning || g.CurrentState.PodIP != "10.1.0.2" || g.Labels["app"] != "web" || g.DesiredState.Host != "m1" || len(g.DesiredState.Manifest.Containers) != 1 || g.ResourceVersion != rv {
		t.Errorf("stored: status %+v labels %v desired %+v version %d, want Running, the labels and desired state unchanged, version %d", g.CurrentState, g.Labels, g.DesiredState, g.ResourceVersion, rv)
	}
	if _, err := r.UpdatePodStatus(ctx, in); !api.IsConflict(err) {
		t.Errorf("status write at a replaced version: %v, want a conflict", err)
	}
	if _, err := r.UpdatePodStatus(ctx, &api.Pod{TypeMeta: api.TypeMeta{ID: "gone", ResourceVersion: 3}}); !api.IsNotFound(err) {
		t.Errorf("status of a missing pod: %v, want NotFound", err)
	}
}
