package docker_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/client"

	"kubelite/internal/images"
	"kubelite/internal/runtime"
	"kubelite/internal/testutil"
)

// TestSpecReachesTheEngine checks that every ContainerSpec field lands in
// the engine's view of the container.
func TestSpecReachesTheEngine(t *testing.T) {
	rt := newRuntime(t)
	buildImages(t, rt, images.Pause, images.WebserverV1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithHost(testutil.DockerHost()), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	suffix := strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000")
	hostDir := filepath.Join(t.TempDir(), "missing", "dir")
	port := freePort(t)
	infra, err := createAndStart(ctx, rt, runtime.ContainerSpec{
		Name: "k8s_POD_" + suffix, Image: images.Pause, Hostname: "mypod",
		Labels: map[string]string{runtime.LabelPodName: "mypod"},
		Ports:  []runtime.PortBinding{{HostIP: "127.0.0.1", HostPort: port, ContainerPort: 80}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Remove(context.Background(), infra) })
	app, err := createAndStart(ctx, rt, runtime.ContainerSpec{
		Name: "k8s_web_" + suffix, Image: images.WebserverV1, NetworkMode: "container:" + infra,
		Labels:  map[string]string{runtime.LabelPodName: "mypod"},
		Command: []string{"/webserver", "--port=80"}, Env: []string{"A=b"}, WorkingDir: "/",
		CPUShares: 102, CPUQuota: 10000, CPUPeriod: 100000, Memory: 64 << 20,
		Mounts: []runtime.Mount{{HostPath: hostDir, ContainerPath: "/data", ReadOnly: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Remove(context.Background(), app) })
	in, err := cli.ContainerInspect(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	hc := in.HostConfig
	if hc.CPUShares != 102 || hc.CPUQuota != 10000 || hc.CPUPeriod != 100000 || hc.Memory != 64<<20 || string(hc.NetworkMode) != "container:"+infra {
		t.Fatalf("host config: shares %d quota %d period %d memory %d network %s", hc.CPUShares, hc.CPUQuota, hc.CPUPeriod, hc.Memory, hc.NetworkMode)
	}
	if strings.Join(in.Config.Cmd, " ") != "/webserver --port=80" || !contains(in.Config.Env, "A=b") || in.Config.Labels[runtime.LabelManaged] != "true" {
		t.Fatalf("config: cmd %q env %q labels %v", in.Config.Cmd, in.Config.Env, in.Config.Labels)
	}
	if len(in.Mounts) != 1 || in.Mounts[0].Destination != "/data" || in.Mounts[0].RW {
		t.Fatalf("mounts: %+v", in.Mounts)
	}
	ii, err := cli.ContainerInspect(ctx, infra)
	if err != nil {
		t.Fatal(err)
	}
	if ii.Config.Hostname != "mypod" {
		t.Fatalf("infra hostname %q", ii.Config.Hostname)
	}
	b := ii.HostConfig.PortBindings["80/tcp"]
	if len(b) != 1 || b[0].HostIP != "127.0.0.1" || b[0].HostPort != strconv.Itoa(port) {
		t.Fatalf("port bindings %+v", ii.HostConfig.PortBindings)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// createAndStart creates a container and starts it (a failed start removes
// it: see runtime.Runtime.Start).
func createAndStart(ctx context.Context, rt runtime.Runtime, spec runtime.ContainerSpec) (string, error) {
	id, err := rt.Create(ctx, spec)
	if err != nil {
		return "", err
	}
	if err := rt.Start(ctx, id); err != nil {
		return "", err
	}
	return id, nil
}
