package kubectl

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/registry"
	"kubelite/internal/store/memory"
)

// TestThroughRegistry runs the CLI against the API as the master serves it:
// apiserver over the registry (defaults, validation, uids, portal IPs) over
// a memory store, on loopback HTTP.
func TestThroughRegistry(t *testing.T) {
	reg, err := registry.New(memory.New(), registry.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg.Run(ctx, func() {}) }()
	t.Cleanup(func() { cancel(); <-done })
	srv, err := apiserver.New(apiserver.Config{Store: reg, Version: api.ServerVersion{Major: "0", Minor: "6+", GitVersion: "v0.6.2"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	ac := &apiCluster{url: hs.URL}

	if out, _, err := ac.kubectl("", "create", "-f", tutorialDir); err != nil || out != "fedoraapache\nwebservercontroller\nwebserver\n" {
		t.Fatalf("create -f testdata/tutorial: %q %v", out, err)
	}
	out, _, err := ac.kubectl("", "get", "services", "--no-headers")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^webserver\s+<none>\s+name=webserver_pod\s+10\.254\.\d+\.\d+\s+8080\n$`).MatchString(out) {
		t.Errorf("get services (want a portal IP from 10.254.0.0/16):\n%s", out)
	}
	// The server's 422 comes back with every bad field, and fails the command.
	bad := `{"kind": "Pod", "id": "Fedoraapache", "desiredState": {"manifest": {"containers": [{"name": "a"}, {"name": "a", "image": "x", "ports": [{"containerPort": 70000}]}]}}}`
	_, _, err = ac.kubectl(bad, "create", "-f", "-")
	if err == nil {
		t.Fatal("an invalid pod was created")
	}
	for _, want := range []string{`create Pod "Fedoraapache": Pod "Fedoraapache" is invalid`, "id", "containers[0].image", "containers[1].name", "containers[1].ports[0].containerPort"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	// describe rc shows the replica line test-cmd looked for.
	out, _, err = ac.kubectl("", "describe", "rc", "webservercontroller")
	if err != nil || !strings.Contains(out, "Replicas:") || !regexp.MustCompile(`Replicas:\s+\d+ current / 2 desired`).MatchString(out) {
		t.Errorf("describe rc: %v\n%s", err, out)
	}
	// -o json of a pod round-trips through create -f - (server fields and all).
	js, _, err := ac.kubectl("", "get", "pod", "fedoraapache", "-o", "json")
	if err != nil || !strings.Contains(js, `"uid"`) {
		t.Fatalf("get -o json: %v\n%s", err, js)
	}
	if _, _, err := ac.kubectl("", "delete", "pod", "fedoraapache"); err != nil {
		t.Fatal(err)
	}
	if out, _, err := ac.kubectl(js, "create", "-f", "-"); err != nil || out != "fedoraapache\n" {
		t.Errorf("create -f - from get -o json: %q %v", out, err)
	}
	if _, _, err := ac.kubectl("", "delete", "-f", filepath.Join(tutorialDir, "lnmp-service.json")); err != nil {
		t.Errorf("delete -f: %v", err)
	}
}
