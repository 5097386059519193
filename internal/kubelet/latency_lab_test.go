package kubelet

import (
	"os"
	"testing"

	"kubelite/internal/lab"
)

// TestLabStartupLatency runs TestDockerStartupLatency on a private engine in
// a lab network namespace (no other kubelet or test shares it), which is how
// the figures in the notes were taken. Opt-in: KUBELITE_LATENCY_LAB=1 (needs
// root, Docker and the lab's tools; fails, not skips, when they are missing).
func TestLabStartupLatency(t *testing.T) {
	if os.Getenv("KUBELITE_LATENCY_LAB") != "1" {
		t.Skip("opt-in measurement: KUBELITE_LATENCY_LAB=1")
	}
	l := lab.ForTest(t, lab.Config{Name: "kllat", Minions: 1, Index: 13})
	t.Setenv("DOCKER_HOST", l.Minion(1).Engine.DockerHost())
	TestDockerStartupLatency(t)
}
