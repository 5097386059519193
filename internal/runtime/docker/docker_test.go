package docker_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"kubelite/internal/images"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/docker"
	"kubelite/internal/runtime/runtimetest"
	"kubelite/internal/testutil"
)

func newRuntime(t *testing.T) *docker.Runtime {
	t.Helper()
	testutil.RequireDocker(t)
	rt, err := docker.New(testutil.DockerHost())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func buildImages(t testing.TB, rt *docker.Runtime, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := testutil.ImageBinary(t)
	testutil.RebuildImages(t, func() error { return images.Build(ctx, rt, bin, names...) }, names...)
}

func TestContract(t *testing.T) {
	rt := newRuntime(t)
	buildImages(t, rt, images.Pause, images.WebserverV1)
	runtimetest.Run(t, runtimetest.Harness{
		New:        func(t *testing.T) runtime.Runtime { return rt },
		PauseImage: images.Pause, AppImage: images.WebserverV1,
		ExecOK:   []string{"/webserver", "healthcheck"},
		ExecFail: []string{"/webserver", "healthcheck", "1"},
		Crash: func(t *testing.T, r runtime.Runtime, id string) {
			if err := r.(*docker.Runtime).Kill(context.Background(), id, "KILL"); err != nil {
				t.Fatal(err)
			}
		},
		LogContains: "serving on :80",
		HostPort:    freePort(t),
		// Name, bridge and subnets unique to this process: tests of other
		// packages may make pod networks on the same engine meanwhile.
		Network: runtime.NetworkSpec{Name: fmt.Sprintf("kubelite-rtt-%d", os.Getpid()), Bridge: fmt.Sprintf("klrt%d", os.Getpid()%1e7)},
		Subnets: [2]string{fmt.Sprintf("10.251.%d.0/24", os.Getpid()%250), fmt.Sprintf("10.252.%d.0/24", os.Getpid()%250)},
	})
}

func TestCheckEndpoint(t *testing.T) {
	t.Setenv("DOCKER_CERT_PATH", "")
	t.Setenv("DOCKER_TLS_VERIFY", "")
	for _, tt := range []struct {
		ep string
		ok bool
	}{
		{"unix:///var/run/docker.sock", true},
		{"tcp://127.0.0.1:2375", false},
		{"ftp://x", false},
	} {
		if err := docker.CheckEndpoint(tt.ep); (err == nil) != tt.ok {
			t.Errorf("CheckEndpoint(%s) = %v, want ok=%v", tt.ep, err, tt.ok)
		}
	}
	t.Setenv("DOCKER_CERT_PATH", "/etc/docker/certs")
	t.Setenv("DOCKER_TLS_VERIFY", "1")
	if err := docker.CheckEndpoint("tcp://127.0.0.1:2376"); err != nil {
		t.Errorf("tcp with TLS refused: %v", err)
	}
}

func TestPullFailsWithEngineMessage(t *testing.T) {
	rt := newRuntime(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := rt.PullImage(ctx, "kubelite-absent/nothing:v0")
	if err == nil {
		t.Fatal("pull of an image from no registry succeeded")
	}
	t.Logf("pull error: %v", err)
}
