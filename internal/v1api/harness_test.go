package v1api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/registry"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// cluster is an API server over the registry over a memory store, with a
// fake kubelet behind minion m1 (for pods/log), served on loopback.
type cluster struct {
	t       testing.TB
	store   store.Store
	srv     *httptest.Server
	kubelet *fakeKubelet
}

// fakeKubelet answers /containerLogs/<ns>/<pod>/<container>: three lines,
// and with follow=true a fourth after release is closed, then it holds the
// stream until the client leaves.
type fakeKubelet struct {
	srv     *httptest.Server
	mu      sync.Mutex
	paths   []string
	release chan struct{}
}

func newFakeKubelet() *fakeKubelet {
	k := &fakeKubelet{release: make(chan struct{})}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.mu.Lock()
		k.paths = append(k.paths, r.URL.RequestURI())
		k.mu.Unlock()
		if !strings.HasPrefix(r.URL.Path, "/containerLogs/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "line 1 of %s\nline 2\nline 3\n", r.URL.Path)
		if r.URL.Query().Get("follow") != "true" {
			return
		}
		w.(http.Flusher).Flush()
		select {
		case <-k.release:
			fmt.Fprintln(w, "line 4 (followed)")
			w.(http.Flusher).Flush()
		case <-r.Context().Done():
			return
		}
		<-r.Context().Done()
	}))
	return k
}

func newCluster(t testing.TB) *cluster { t.Helper(); return newClusterOn(t, memory.New()) }

// newClusterOn serves raw (through the registry).
func newClusterOn(t testing.TB, raw store.Store) *cluster {
	t.Helper()
	reg, err := registry.New(raw, registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx, func() { close(ready) }) }()
	<-ready
	kl := newFakeKubelet()
	_, portStr, _ := net.SplitHostPort(kl.srv.Listener.Addr().String())
	port, _ := strconv.Atoi(portStr)
	srv, err := apiserver.New(apiserver.Config{
		Store: reg, KubeletPort: port,
		Version: api.ServerVersion{Major: "0", Minor: "6", GitVersion: "v0.6.2-kubelite", GitCommit: "test", GitTreeState: "clean"},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	c := &cluster{t: t, store: reg, srv: hs, kubelet: kl}
	t.Cleanup(func() {
		hs.CloseClientConnections()
		hs.Close()
		kl.srv.CloseClientConnections()
		kl.srv.Close()
		cancel()
		<-done
	})
	if _, err := reg.Create(ctx, &api.Minion{
		TypeMeta: api.TypeMeta{ID: "m1"}, HostIP: "127.0.0.1", KubeletPort: port, PodCIDR: "10.244.0.0/24",
		Status:    api.MinionStatus{Condition: api.MinionReady, LastHeartbeat: time.Now()},
		Resources: api.NodeResources{Capacity: api.Capacity{CPU: 4000, Memory: 8 << 30}},
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

// do sends a request and returns the code and body.
func (c *cluster) do(method, path, contentType, body string, hdr ...string) (int, string, http.Header) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.srv.Client().Do(req.WithContext(ctx))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// must is do, failing unless the code is want.
func (c *cluster) must(want int, method, path, contentType, body string) map[string]any {
	c.t.Helper()
	code, b, _ := c.do(method, path, contentType, body)
	if code != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, b)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(b), &out); err != nil && strings.HasPrefix(strings.TrimSpace(b), "{") {
		c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return out
}

// runPod marks a pod bound to m1 and running, as its kubelet would.
func (c *cluster) runPod(ns, name string) {
	c.t.Helper()
	ctx := context.Background()
	testutil.Eventually(c.t, 5*time.Second, func() error {
		obj, err := c.store.Get(ctx, api.Pods, ns, name)
		if err != nil {
			return err
		}
		p := obj.(*api.Pod)
		if p.DesiredState.Host == "" {
			if _, err := c.store.Create(ctx, &api.Binding{TypeMeta: api.TypeMeta{Namespace: ns}, PodID: name, Host: "m1"}); err != nil {
				return err
			}
			return fmt.Errorf("bound, not running yet")
		}
		p.CurrentState.Phase, p.CurrentState.Status = api.PodPhaseRunning, api.PodRunning
		p.CurrentState.PodIP, p.CurrentState.HostIP, p.CurrentState.Host = "10.244.0.7", "127.0.0.1", "m1"
		p.CurrentState.Info = nil
		for _, ct := range p.DesiredState.Manifest.Containers {
			p.CurrentState.Info.Set(ct.Name, api.ContainerStatus{State: api.ContainerState{Running: &api.ContainerStateRunning{StartedAt: time.Now()}}, Image: ct.Image})
		}
		_, err = c.store.Update(ctx, p)
		return err
	}, "pod %s/%s running", ns, name)
}

func jsonBody(v any) string {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return b.String()
}
