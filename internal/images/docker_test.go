package images

import (
	"context"
	"testing"
	"time"

	"kubelite/internal/runtime/docker"
	"kubelite/internal/testutil"
)

// TestBuildOnDocker builds every image on the real engine.
func TestBuildOnDocker(t *testing.T) {
	testutil.RequireDocker(t)
	bin := testutil.ImageBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt, err := docker.New(testutil.DockerHost())
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	start := time.Now()
	if err := Build(ctx, rt, bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %d images in %s", len(Names()), time.Since(start))
	for _, n := range Names() {
		if ok, err := rt.HasImage(ctx, n); !ok || err != nil {
			t.Errorf("image %s absent after build: %v", n, err)
		}
	}
}
