//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/images"
	"kubelite/internal/testutil"
)

// scenarioKubectlV1 (issue 12) drives the oldest and the newest real
// kubectl of the machine, with the lab's admin kubeconfig, through
// /api/v1 on real Docker: get nodes, create -f a v1 pod, apply -f a v1
// RC (created, then configured), get pods -o wide (Running on a lab
// minion with its pod IP), logs, scale rc (seen by a get -w), expose rc
// (its endpoints are the pods, each answering), delete -l (the watch sees
// the pods go).
func scenarioKubectlV1(s *sc) {
	for _, bin := range testutil.RealKubectls(s.t).OldestNewest() {
		kubectlV1(s, bin)
	}
}

// kubectlV1 is the scenario with one kubectl binary; its objects are
// named after the binary's minor version.
func kubectlV1(s *sc, bin string) {
	s.t.Helper()
	v := strings.ReplaceAll(strings.TrimPrefix(filepath.Base(bin), "kubectl."), ".", "")
	if v == "kubectl" {
		v = "path"
	}
	pod, rc, app := "kc-web-"+v, "kc-rc-"+v, "kc-rc-"+v
	k := func(args ...string) string {
		s.t.Helper()
		out, err := s.realKubectl(bin, args...)
		if err != nil {
			s.fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
		}
		s.logf("$ %s %s\n%s", filepath.Base(bin), strings.Join(args, " "), strings.TrimRight(out, "\n"))
		return out
	}
	want := func(out string, wants ...string) {
		s.t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				s.fatalf("output lacks %q:\n%s", w, out)
			}
		}
	}

	var nodeNames []string
	for _, m := range s.lab.Minions() {
		nodeNames = append(nodeNames, m.Addr.String())
	}
	want(k("get", "nodes"), append(nodeNames, "Ready")...)

	podFile := filepath.Join(s.tmp, pod+".yaml")
	rcFile := filepath.Join(s.tmp, rc+".yaml")
	writeFile(s, podFile, fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels: {kc: "%s"}
spec:
  containers:
  - name: web
    image: %s
    ports: [{containerPort: 80}]
`, pod, v, images.WebserverV1))
	rcYAML := fmt.Sprintf(`apiVersion: v1
kind: ReplicationController
metadata:
  name: %s
  labels: {kc: "%s"}
spec:
  replicas: 1
  selector: {app: %s}
  template:
    metadata:
      labels: {app: %s, kc: "%s"}
    spec:
      containers:
      - name: web
        image: %s
        ports: [{containerPort: 80}]
`, rc, v, app, app, v, images.WebserverV1)
	writeFile(s, rcFile, rcYAML)
	want(k("create", "-f", podFile), "pod/"+pod+" created")
	want(k("apply", "-f", rcFile), "replicationcontroller/"+rc+" created")

	// get pods -o wide: Running, its pod IP, on a lab minion.
	var row []string
	s.eventually(pod+" Running in kubectl get pods -o wide", 60*time.Second, func() (bool, string) {
		out, err := s.realKubectl(bin, "get", "pod", pod, "-o", "wide", "--no-headers")
		if err != nil {
			return false, err.Error() + ": " + out
		}
		row = strings.Fields(out)
		return len(row) >= 7 && row[2] == "Running", out
	})
	p, err := s.pod(s.ctx, pod)
	if err != nil {
		s.fatalf("%v", err)
	}
	// The wide row ends IP NODE NOMINATED-NODE READINESS-GATES (counted
	// from the end: RESTARTS may read "1 (5s ago)").
	ip, node := row[len(row)-4], row[len(row)-3]
	if ip != p.CurrentState.PodIP || ip == "" {
		s.fatalf("IP column %q, the pod's IP %q", ip, p.CurrentState.PodIP)
	}
	if h := s.hostOf(node); h.Engine == nil || node != host(*p) {
		s.fatalf("NODE column %q is not the lab minion the pod runs on (%s)", node, host(*p))
	}
	// Running is the container started; its first line reaches the
	// engine's log a moment later (an empty answer was seen 0.1 s after
	// Running on a slow machine, as real Kubernetes would give too).
	s.eventually(pod+" logs say it serves", 30*time.Second, func() (bool, string) {
		out, err := s.realKubectl(bin, "logs", pod)
		if err != nil {
			return false, err.Error() + ": " + out
		}
		return strings.Contains(out, "serving on :80"), out
	})

	// get -w sees the scale and the delete.
	watch := s.watchKubectl(bin, "get", "pods", "-w", "-l", "app="+app, "--output-watch-events")
	defer watch.stop()
	want(k("scale", "rc", rc, "--replicas=2"), "replicationcontroller/"+rc+" scaled")
	ps := s.waitPods("app="+app, "2 pods of "+rc+" Running", 60*time.Second, nRunning(2))
	for _, p := range ps {
		watch.wait(s, p.ID+" Running in get -w", func(l string) bool {
			return strings.Contains(l, p.ID) && strings.Contains(l, "Running")
		})
	}
	// apply again with the file's 1 replica changed to 2: configured.
	writeFile(s, rcFile, strings.Replace(rcYAML, "replicas: 1", "replicas: 2", 1))
	want(k("apply", "-f", rcFile), "replicationcontroller/"+rc+" configured")

	want(k("expose", "rc", rc, "--port=8080", "--target-port=80"), "service/"+rc+" exposed")
	want(k("get", "svc", rc), "ClusterIP", "8080/TCP")
	s.waitEndpoints(rc, ps, 80, 30*time.Second)

	out := k("delete", "pods,rc,svc", "-l", "kc="+v)
	want(out, `pod "`+pod+`" deleted`, `replicationcontroller "`+rc+`" deleted`, `service "`+rc+`" deleted`)
	s.waitPods("app="+app, "the pods of "+rc+" gone", 60*time.Second, func(ps []api.Pod) bool { return len(ps) == 0 })
	for _, p := range ps {
		watch.wait(s, p.ID+" DELETED in get -w", func(l string) bool {
			return strings.HasPrefix(l, "DELETED") && strings.Contains(l, p.ID)
		})
	}
}

func writeFile(s *sc, path, body string) {
	s.t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		s.fatalf("%v", err)
	}
}

// realKubectl runs a real kubectl binary with the admin kubeconfig in the
// master's network namespace.
func (c *cluster) realKubectl(bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	argv := append([]string{bin, "--kubeconfig", c.kubeconfig, "--request-timeout=20s"}, args...)
	out, err := c.lab.Exec(ctx, c.lab.Master(), argv...)
	return string(out), err
}

// kubectlWatch is a running `kubectl get -w` and the lines it printed.
type kubectlWatch struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	lines []string
}

// watchKubectl starts a real kubectl (a watch) in the master's network
// namespace; stop ends it.
func (s *sc) watchKubectl(bin string, args ...string) *kubectlWatch {
	s.t.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	argv := append([]string{"--net=" + s.lab.Master().NSPath, "--", bin, "--kubeconfig", s.kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", argv...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		s.fatalf("%v", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		s.fatalf("start %s: %v", bin, err)
	}
	w := &kubectlWatch{cmd: cmd, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
		}
	}()
	return w
}

// wait polls the watch's lines until one satisfies f.
func (w *kubectlWatch) wait(s *sc, what string, f func(string) bool) {
	s.t.Helper()
	s.eventually(what, 30*time.Second, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, l := range w.lines {
			if f(l) {
				return true, ""
			}
		}
		return false, strings.Join(w.lines, "\n")
	})
}

func (w *kubectlWatch) stop() {
	w.cancel()
	<-w.done
	_ = w.cmd.Wait()
}
