package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/securetest"
	"kubelite/internal/testutil"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startMaster runs `kubelite master --etcd-embed` on free loopback ports,
// secure unless extra says --insecure; its identity goes to dataDir.
func startMaster(t *testing.T, extra ...string) (cmd *exec.Cmd, stderr *bytes.Buffer, port int, dataDir string) {
	t.Helper()
	bin := testutil.KubeliteBinary(t)
	port = freePort(t)
	dataDir = t.TempDir()
	args := append([]string{"master", "--etcd-embed", "--config-dir=", "--address=127.0.0.1",
		"--port=" + strconv.Itoa(port), "--data-dir=" + dataDir,
		"--etcd-addr=127.0.0.1:" + strconv.Itoa(freePort(t)),
		"--etcd-peer-addr=127.0.0.1:" + strconv.Itoa(freePort(t))}, extra...)
	cmd = exec.Command(bin, args...)
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, stderr, port, dataDir
}

func waitHealthy(t *testing.T, port int, stderr *bytes.Buffer) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("/healthz: %s", resp.Status)
		}
		return nil
	}, "master healthy (its stderr follows)\n%s", stderr)
}

func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		cmd.Process.Kill()
		t.Fatalf("still running %s after the signal", within)
		return nil
	}
}

// A signal stops the master cleanly: components in reverse order, exit 0,
// and no error lines (etcd's "server closed" noise included). The secure
// default says nothing about an open API; --insecure warns at every start.
func TestSignalStopsMasterCleanly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sig      syscall.Signal
		insecure bool
	}{{syscall.SIGINT, false}, {syscall.SIGTERM, false}, {syscall.SIGTERM, true}} {
		name := tc.sig.String()
		if tc.insecure {
			name += "/insecure"
		}
		sig := tc.sig
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var extra []string
			if tc.insecure {
				extra = append(extra, "--insecure")
			}
			cmd, stderr, port, _ := startMaster(t, extra...)
			waitHealthy(t, port, stderr)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := waitExit(t, cmd, 30*time.Second); err != nil {
				t.Fatalf("exit: %v\n%s", err, stderr)
			}
			log := stderr.String()
			if strings.Contains(log, "level=error") || strings.Contains(log, "goroutine ") {
				t.Errorf("error lines on a clean shutdown:\n%s", log)
			}
			api, etcd := strings.Index(log, "msg=stopped component=apiserver"), strings.Index(log, "embedded etcd stopped")
			if api < 0 || etcd < 0 || api > etcd {
				t.Errorf("want the API stopped before etcd:\n%s", log)
			}
			if warned := strings.Contains(log, "has no TLS and no authentication"); warned != tc.insecure {
				t.Errorf("warning that the API is open: %v, want %v:\n%s", warned, tc.insecure, log)
			}
		})
	}
}

// A component that cannot start (the API port is taken) stops the ones
// already started; the process exits non-zero with one line, no stack trace.
func TestPortTakenFailsWithOneLine(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cmd, stderr, _, _ := startMaster(t, "--port="+strconv.Itoa(port))
	err = waitExit(t, cmd, 30*time.Second)
	if err == nil {
		t.Fatalf("exit 0 with the port taken:\n%s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "kubelite: ") || !strings.Contains(last, strconv.Itoa(port)) || !strings.Contains(last, "in use") {
		t.Errorf("last line %q, want one kubelite: line naming the taken address\n%s", last, stderr)
	}
	if strings.Contains(stderr.String(), "goroutine ") {
		t.Errorf("stack trace:\n%s", stderr)
	}
}

// The binary invoked through a symlink named kubectl is `kubelite kubectl`.
func TestKubectlSymlink(t *testing.T) {
	bin := testutil.KubeliteBinary(t)
	link := filepath.Join(t.TempDir(), "kubectl")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	viaLink, errLink := exec.CommandContext(ctx, link, "--help").CombinedOutput()
	direct, errDirect := exec.CommandContext(ctx, bin, "kubectl", "--help").CombinedOutput()
	if (errLink == nil) != (errDirect == nil) || string(viaLink) != string(direct) {
		t.Errorf("kubectl link:\n%s(%v)\nkubelite kubectl:\n%s(%v)", viaLink, errLink, direct, errDirect)
	}
}

// The hidden pause command (the infra container) exits 0 on SIGTERM.
func TestPauseStopsOnSIGTERM(t *testing.T) {
	cmd := exec.Command(testutil.KubeliteBinary(t), "pause")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	// The line comes once the signal handler is installed: a signal sent
	// before would kill the process the default way.
	line := make([]byte, 64)
	if n, err := out.Read(line); err != nil || !strings.HasPrefix(string(line[:n]), "pause: waiting") {
		t.Fatalf("pause said %q, %v", line[:n], err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitExit(t, cmd, 10*time.Second); err != nil {
		t.Errorf("pause: %v", err)
	}
}

// Docker unreachable: standalone says which and what to do, in one line,
// before starting anything.
func TestStandaloneWithoutDockerOneLine(t *testing.T) {
	bin := testutil.KubeliteBinary(t)
	cmd := exec.Command(bin, "standalone", "--data-dir="+t.TempDir(), "--docker-endpoint=unix:///nonexistent/docker.sock",
		"--port="+strconv.Itoa(freePort(t)), "--kubelet_port="+strconv.Itoa(freePort(t)),
		"--etcd-addr=127.0.0.1:"+strconv.Itoa(freePort(t)), "--etcd-peer-addr=127.0.0.1:"+strconv.Itoa(freePort(t)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, cmd, 30*time.Second); err == nil {
		t.Fatal("exit 0 without Docker")
	}
	want := "kubelite: cannot reach Docker at unix:///nonexistent/docker.sock"
	if !strings.HasPrefix(stderr.String(), want) || strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr %q, want one line starting %q", stderr.String(), want)
	}
	if !strings.Contains(stderr.String(), "--docker-endpoint") {
		t.Errorf("no hint about --docker-endpoint: %q", stderr.String())
	}
}

// A master and a minion as separate processes, secure as a newcomer runs
// them: the minion joins with the token `kubelite token` prints, registers
// through the API (it never sees etcd) and becomes Ready; kubectl uses the
// master's admin.kubeconfig; doctor checks both.
func TestMasterAndMinion(t *testing.T) {
	t.Parallel()
	bin := testutil.KubeliteBinary(t)
	etcdAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cmd, stderr, port, dataDir := startMaster(t, "--etcd-addr="+etcdAddr)
	waitHealthy(t, port, stderr)
	api := "127.0.0.1:" + strconv.Itoa(port)
	kubeletPort := strconv.Itoa(freePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	token, err := securetest.Token(ctx, bin, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dataDir, "admin.kubeconfig")

	minion := exec.Command(bin, "minion", "--config-dir=", "--master="+api, "--token="+token, "--hostname_override=minion-1",
		"--address=127.0.0.1", "--port="+kubeletPort, "--runtime=fake", "--proxy-mode=none", "--network=none",
		"--root-dir="+t.TempDir(), "--etcd_servers=http://192.168.1.10:4001")
	var minionErr testutil.SyncBuffer
	minion.Stderr = &minionErr
	if err := minion.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if minion.ProcessState == nil {
			minion.Process.Kill()
			minion.Wait()
		}
	})
	kubectl := func(args ...string) string {
		out, _ := exec.Command(bin, append([]string{"kubectl", "--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		return string(out)
	}
	testutil.Eventually(t, 30*time.Second, func() error {
		if out := kubectl("get", "minions"); !strings.Contains(out, "minion-1") || !strings.Contains(out, "Ready") {
			return fmt.Errorf("get minions:\n%s", out)
		}
		return nil
	}, "minion Ready (minion's stderr follows)\n%s", &minionErr)
	if !strings.Contains(minionErr.String(), "ignoring --etcd_servers=http://192.168.1.10:4001") {
		t.Errorf("no info line about the ignored --etcd_servers:\n%s", minionErr.String())
	}

	doctor := func(args ...string) (string, error) {
		out, err := exec.Command(bin, append([]string{"doctor"}, args...)...).CombinedOutput()
		return string(out), err
	}
	out, err := doctor("master", "--config-dir=", "--etcd-embed", "--address=127.0.0.1", "--port="+strconv.Itoa(port),
		"--etcd-addr="+etcdAddr, "--kubelet_port="+kubeletPort)
	for _, want := range []string{"ok   etcd ", "ok   api ", "ok   minion-ports   1 minion kubelet port(s) reachable"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor master lacks %q:\n%s", want, out)
		}
	}
	if err != nil {
		t.Errorf("doctor master failed: %v\n%s", err, out)
	}
	out, _ = doctor("minion", "--config-dir=", "--master="+api, "--token="+token, "--hostname_override=minion-1", "--address=127.0.0.1", "--port="+kubeletPort)
	for _, want := range []string{"ok   api ", "ok   clock ", "ok   kubelet-port "} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor minion lacks %q:\n%s", want, out)
		}
	}

	minion.Process.Signal(syscall.SIGTERM)
	if err := waitExit(t, minion, 30*time.Second); err != nil {
		t.Errorf("minion exit: %v\n%s", err, minionErr.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitExit(t, cmd, 30*time.Second); err != nil {
		t.Errorf("master exit: %v\n%s", err, stderr)
	}
}

// A master on an external etcd (--etcd_servers, as the tutorial's config
// file sets it): it waits for the cluster, serves, and /validate shows etcd.
func TestMasterExternalEtcd(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	bin := testutil.KubeliteBinary(t)
	port := freePort(t)
	cmd := exec.Command(bin, "master", "--config-dir=", "--address=127.0.0.1", "--port="+strconv.Itoa(port),
		"--data-dir="+t.TempDir(), "--etcd_servers="+strings.Join(srv.Endpoints(), ","))
	var stderr testutil.SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	testutil.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/validate")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"component":"etcd-0","health":"healthy"`) {
			return fmt.Errorf("/validate: %s %s", resp.Status, body)
		}
		return nil
	}, "a healthy /validate (stderr follows)\n%s", &stderr)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitExit(t, cmd, 30*time.Second); err != nil {
		t.Errorf("exit: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "level=error") {
		t.Errorf("error lines:\n%s", stderr.String())
	}
}
