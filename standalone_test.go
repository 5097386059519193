package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kubelite/internal/testutil"
)

// The whole test binary runs in a network namespace of its own, so the
// standalone cluster's iptables rules and listeners vanish with it.
func TestMain(m *testing.M) { os.Exit(testutil.RunInNetns(m, testutil.DefaultNetns)) }

// TestFreshCloneMakeRun is a newcomer's first minutes: from a clean clone,
// the README's first command (make run) in the background, wait for the
// ready block, run the three commands it suggests, Ctrl-C, then
// `kubelite standalone --reset --yes` removes the pod's containers and the
// data directory.
func TestFreshCloneMakeRun(t *testing.T) {
	testutil.RequireNetns(t)
	testutil.RequireDocker(t)
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	clone := filepath.Join(t.TempDir(), "kubelite")
	if out, err := exec.Command("git", "clone", "-q", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	data := filepath.Join(t.TempDir(), "data")
	port := freePort(t)
	api := "http://127.0.0.1:" + strconv.Itoa(port)
	flags := strings.Join([]string{
		"--port=" + strconv.Itoa(port), "--kubelet_port=" + strconv.Itoa(freePort(t)),
		"--etcd-addr=127.0.0.1:" + strconv.Itoa(freePort(t)), "--etcd-peer-addr=127.0.0.1:" + strconv.Itoa(freePort(t)),
		"--data-dir=" + data,
	}, " ")

	run := exec.Command("make", "run", "STANDALONE_FLAGS="+flags)
	run.Dir = clone
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stdout, stderr testutil.SyncBuffer
	run.Stdout, run.Stderr = &stdout, &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		syscall.Kill(-run.Process.Pid, syscall.SIGINT) // Ctrl-C reaches the whole foreground group
		select {
		case err := <-exited:
			return err
		case <-time.After(60 * time.Second):
			syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("make run still running 60s after Ctrl-C")
			return nil
		}
	}
	t.Cleanup(func() { stop() })

	// A cold build of the binary and the images: 5 minutes were not enough
	// under `make test` with both cores kept busy.
	const readyWithin = 15 * time.Minute
	deadline := time.Now().Add(readyWithin)
	for !strings.Contains(stdout.String(), "is Ready") {
		select {
		case err := <-exited:
			t.Fatalf("make run exited (%v) before ready:\n%s\n%s", err, stdout.String(), stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within %s:\n%s\n%s", readyWithin, stdout.String(), stderr.String())
		}
	}
	banner := stdout.String()
	bin := filepath.Join(clone, "bin", "kubelite")
	// The cluster is secure: the banner names the admin kubeconfig (under
	// --data-dir) and suggests kubectl with it, since it is not at a place
	// kubectl looks by itself. -s on the kubeconfig's own host and port
	// (the tutorial's habit) uses its credential.
	kubeconfig := filepath.Join(data, "admin.kubeconfig")
	if !strings.Contains(banner, "kubeconfig: "+kubeconfig) || !strings.Contains(banner, "kubectl --kubeconfig "+kubeconfig+" get minions") {
		t.Errorf("banner does not name the admin kubeconfig %s:\n%s", kubeconfig, banner)
	}
	kubectl := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append([]string{"kubectl", "--kubeconfig", kubeconfig, "-s", api}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// The three commands the banner suggests.
	for _, want := range []string{"get minions", "create -f testdata/tutorial/apache-pod.json", "get pods"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner does not suggest %q:\n%s", want, banner)
		}
	}
	if out := kubectl("get", "minions"); !strings.Contains(out, "Ready") {
		t.Errorf("get minions:\n%s", out)
	}
	kubectl("create", "-f", filepath.Join(clone, "testdata/tutorial/apache-pod.json"))
	if out := kubectl("get", "pods"); !strings.Contains(out, "fedoraapache") {
		t.Errorf("get pods:\n%s", out)
	}
	uid := strings.TrimSpace(kubectl("get", "pods", "fedoraapache", "-o", "template", "-t", "{{.uid}}"))
	if uid == "" {
		t.Fatal("no pod uid")
	}
	// Wait until the kubelet started the pod's infra container, so --reset has something to remove.
	containers := func() string {
		out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=io.kubelite.pod.uid="+uid).Output()
		return strings.TrimSpace(string(out))
	}
	t.Cleanup(func() {
		if ids := containers(); ids != "" {
			exec.Command("sh", "-c", "docker rm -f "+strings.ReplaceAll(ids, "\n", " ")).Run()
		}
	})
	testutil.Eventually(t, 60*time.Second, func() error {
		if !strings.Contains(kubectl("get", "pods", "fedoraapache", "--no-headers"), "Running") || containers() == "" {
			return fmt.Errorf("not Running with containers:\n%s", kubectl("describe", "pods", "fedoraapache"))
		}
		return nil
	}, "pod %s Running (standalone's stderr follows)\n%s", uid, &stderr)

	stop()
	log := stderr.String()
	if !strings.Contains(log, "msg=stopped component=standalone") {
		t.Errorf("standalone did not stop cleanly:\n%s", log)
	}
	if strings.Contains(log, "level=error") || strings.Contains(log, "goroutine ") {
		t.Errorf("errors on a clean run:\n%s", log)
	}

	// Starting again finds the same pod and adopts its running containers.
	before := containers()
	again := exec.Command(bin, append([]string{"standalone"}, strings.Fields(flags)...)...)
	var out2, err2 testutil.SyncBuffer
	again.Stdout, again.Stderr = &out2, &err2
	if err := again.Start(); err != nil {
		t.Fatal(err)
	}
	exited2 := make(chan error, 1)
	go func() { exited2 <- again.Wait() }()
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(out2.String(), "is Ready"); {
		select {
		case err := <-exited2:
			t.Fatalf("second start exited (%v):\n%s", err, err2.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			again.Process.Kill()
			t.Fatalf("second start not ready:\n%s", err2.String())
		}
	}
	if out := kubectl("get", "pods"); !strings.Contains(out, "fedoraapache") {
		t.Errorf("after a restart, get pods:\n%s", out)
	}
	time.Sleep(2 * time.Second) // one kubelet sync: adopted containers stay, others would appear
	if before == "" {
		t.Errorf("the pod's containers did not survive the stop:\n%s", stderr.String())
	}
	if after := containers(); after != before {
		t.Errorf("containers changed across the restart:\nbefore %q\nafter  %q", before, after)
	}
	again.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited2:
		if err != nil {
			t.Errorf("second run: %v\n%s", err, err2.String())
		}
	case <-time.After(60 * time.Second):
		again.Process.Kill()
		t.Fatal("second run did not stop")
	}

	// --reset --yes wipes the pod's containers and the data directory.
	reset := exec.Command(bin, append([]string{"standalone", "--reset", "--yes"}, strings.Fields(flags)...)...)
	if out, err := reset.CombinedOutput(); err != nil {
		t.Fatalf("--reset: %v\n%s", err, out)
	}
	if ids := containers(); ids != "" {
		t.Errorf("containers of pod %s survive --reset: %s", uid, ids)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("--reset left %s: %v", data, err)
	}
}
