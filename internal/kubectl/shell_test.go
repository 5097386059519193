package kubectl

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary act as the kubectl command (when run through
// a symlink with KUBELITE_KUBECTL_TEST=1), so shell tests run the real CLI.
func TestMain(m *testing.M) {
	if os.Getenv("KUBELITE_KUBECTL_TEST") == "1" {
		if err := Run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The tutorial's loop, in a real shell, through a real API server:
// for i in $(kubectl get pod | tail -n +2 | awk '{print $1}'); do kubectl delete pod $i; done
func TestTutorialLoopInAShell(t *testing.T) {
	for _, tool := range []string{"sh", "tail", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: %v", tool, err)
		}
	}
	ac := startAPI(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	if err := os.Symlink(self, filepath.Join(bin, "kubectl")); err != nil {
		t.Fatal(err)
	}
	sh := func(script string) (string, error) {
		cmd := exec.Command("sh", "-c", script)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "KUBERNETES_MASTER="+ac.url, "KUBELITE_KUBECTL_TEST=1")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := sh("kubectl create -f " + tutorialDir); err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if out, err := sh(`kubectl create -f ` + filepath.Join(tutorialDir, "apache-pod.json")); err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("a second create exited 0 or without the server's message: %v\n%s", err, out)
	}
	for i := 0; i < 3; i++ {
		mustCreate(t, ac.st, pod2(fmt.Sprintf("webservercontroller-%05d", i), map[string]string{"name": "webserver_pod"}))
	}
	out, err := sh(`for i in $(kubectl get pod | tail -n +2 | awk '{print $1}'); do kubectl delete pod $i; done`)
	if err != nil {
		t.Fatalf("the loop: %v\n%s", err, out)
	}
	if out != "fedoraapache\nwebservercontroller-00000\nwebservercontroller-00001\nwebservercontroller-00002\n" {
		t.Errorf("the loop printed:\n%s", out)
	}
	if out, err := sh(`kubectl get pods | wc -l`); err != nil || strings.TrimSpace(out) != "1" {
		t.Errorf("after the loop, get pods has %q lines (%v)", out, err)
	}
}
