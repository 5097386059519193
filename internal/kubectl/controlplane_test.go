package kubectl

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/clustertest"
	"kubelite/internal/component"
	"kubelite/internal/controller/replication"
	"kubelite/internal/registry"
	"kubelite/internal/scheduler"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

// startControlPlane serves the API over HTTP with the real registry,
// scheduler and replication manager, and two hollow minions that mark their
// pods Running.
func startControlPlane(t *testing.T) (*apiCluster, store.Store) {
	t.Helper()
	reg, err := registry.New(memory.New(), registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	run := func(c component.Component) {
		started := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(ctx, func() { close(started) }); err != nil && ctx.Err() == nil {
				t.Errorf("%s: %v", c.Name(), err)
			}
		}()
		select {
		case <-started:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not start", c.Name())
		}
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	run(reg)
	minions := clustertest.NewMinions(reg, nil)
	if err := minions.Register(ctx, []string{"192.168.1.201", "192.168.1.202"}, nil); err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); minions.Run(ctx, 0) }()
	run(scheduler.New(scheduler.Config{Store: reg, Seed: 1}))
	run(replication.New(replication.Config{Store: reg}))
	srv, err := apiserver.New(apiserver.Config{Store: reg, Version: api.ServerVersion{Major: "0", Minor: "6+", GitVersion: "v0.6.2"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &apiCluster{url: hs.URL}, reg
}

// waitRunning waits until the pods labelled name=NAME are exactly n, all
// Running with image img.
func waitRunning(t *testing.T, st store.Store, name, img string, n int) []*api.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last map[string]*api.Pod
	err := waitPods(ctx, st, "default", api.SelectorFromSet(map[string]string{"name": name}), func(pods map[string]*api.Pod) (bool, error) {
		last = pods
		if len(pods) != n {
			return false, nil
		}
		for _, p := range pods {
			if p.CurrentState.Phase != api.PodPhaseRunning || images(p.DesiredState.Manifest.Containers) != img {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		var got []string
		for id, p := range last {
			got = append(got, id+"="+images(p.DesiredState.Manifest.Containers)+"/"+string(p.CurrentState.Phase))
		}
		t.Fatalf("waiting for %d Running %s pods of %s: %v; have %v", n, img, name, err, got)
	}
	var out []*api.Pod
	for _, p := range last {
		out = append(out, p)
	}
	return out
}

func TestControlPlaneRunResizeRollingUpdateStop(t *testing.T) {
	ac, st := startControlPlane(t)
	ok := func(args ...string) string {
		t.Helper()
		out, stderr, err := ac.kubectl("", args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v (stderr %q)\n%s", strings.Join(args, " "), err, stderr, out)
		}
		return out
	}
	ok("run", "serve-hostname:v1", "2", "web", "-s", "80")
	pods := waitRunning(t, st, "web", "serve-hostname:v1", 2)
	for _, p := range pods {
		if !strings.HasPrefix(p.ID, "web-") {
			t.Errorf("pod %s: want a name generated from the RC", p.ID)
		}
	}
	ok("resize", "web", "4")
	waitRunning(t, st, "web", "serve-hostname:v1", 4)
	// The scheduler spread them 2 and 2; the table says where.
	out := ok("get", "pods", "-l", "name=web", "--no-headers")
	if a, b := strings.Count(out, "192.168.1.201/"), strings.Count(out, "192.168.1.202/"); a != 2 || b != 2 {
		t.Errorf("pods per minion %d and %d, want 2 and 2:\n%s", a, b, out)
	}
	out = ok("rollingupdate", "web", "--image", "serve-hostname:v2", "--update-period", "0s", "--timeout", "30s")
	if !regexp.MustCompile(`(?s)replacing web-\w+ \(4/4\).*Update of web succeeded: 4 pods replaced`).MatchString(out) {
		t.Errorf("rollingupdate progress:\n%s", out)
	}
	waitRunning(t, st, "web", "serve-hostname:v2", 4)
	// currentState.replicas follows the pods: the replication manager writes
	// it after it sees them Running, so give it a moment.
	current := regexp.MustCompile(`Replicas:\s+4 current / 4 desired`)
	testutil.Eventually(t, 10*time.Second, func() error {
		if desc := ok("describe", "rc", "web"); !current.MatchString(desc) {
			return fmt.Errorf("describe rc:\n%s", desc)
		}
		return nil
	}, "describe rc web says 4 current")
	ok("stop", "web", "--timeout", "30s")
	if out := ok("get", "pods", "--no-headers"); out != "" {
		t.Errorf("pods after stop:\n%s", out)
	}
	if _, _, err := ac.kubectl("", "get", "rc", "web"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("rc after stop: %v", err)
	}
}

// The tutorial's hostPort confusion: an RC of 3 with hostPort on 2 minions
// warns at create, then runs 2 and leaves 1 Pending with the reason.
func TestControlPlaneHostPortRC(t *testing.T) {
	ac, st := startControlPlane(t)
	rc := `{"kind": "ReplicationController", "id": "apache", "desiredState": {"replicas": 3, "replicaSelector": {"name": "apache"},
	  "podTemplate": {"labels": {"name": "apache"}, "desiredState": {"manifest": {"containers": [{"name": "a", "image": "fedora/apache", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}}}}}`
	_, stderr, err := ac.kubectl(rc, "create", "-f", "-")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "with 3 replicas and 2 ready minions, 1 stay Pending") {
		t.Errorf("warning: %q", stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = waitPods(ctx, st, "default", api.SelectorFromSet(map[string]string{"name": "apache"}), func(pods map[string]*api.Pod) (bool, error) {
		running, pending := 0, 0
		for _, p := range pods {
			switch {
			case p.CurrentState.Phase == api.PodPhaseRunning:
				running++
			case p.CurrentState.Message != "":
				pending++
			}
		}
		return running == 2 && pending == 1, nil
	})
	if err != nil {
		t.Fatalf("want 2 Running and 1 Pending with a reason: %v", err)
	}
	out, _, err := ac.kubectl("", "get", "pods")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`apache-\w+\s+fedora/apache\s+<unassigned>\s+name=apache\s+Pending \(.*hostPort.*\)`).MatchString(out) {
		t.Errorf("get pods does not show the Pending pod's reason:\n%s", out)
	}
}
