package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	ucli "github.com/urfave/cli/v2"

	"kubelite/internal/testserver"
	"kubelite/internal/version"
)

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestErrorsAreOneLine(t *testing.T) {
	t.Setenv("KUBELITE_PORT", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"kubelite", "frob"}, `unknown command "frob": run kubelite --help`},
		{[]string{"kubelite", "master", "--bogus"}, "unknown flag --bogus (see kubelite master --help)"},
		{[]string{"kubelite", "--log-format=json", "master"}, "unknown flag --log-format: a role's flags come after it (kubelite ROLE --log-format; see kubelite ROLE --help)"},
		{[]string{"kubelite", "minion", "--config-dir=", "--master=m", "--port=x"}, "invalid value \"x\" for flag -port"},
		{[]string{"kubelite", "master", "--config-dir=", "stray"}, "kubelite master takes no arguments"},
		{[]string{"kubelite", "master", "--config-dir="}, "the master needs etcd"},
		{[]string{"kubelite", "standalone", "--docker-endpoint=tcp://127.0.0.1:2375"}, "without TLS"},
	} {
		_, _, err := run(t, tc.args...)
		if err == nil {
			t.Errorf("%v: no error", tc.args)
			continue
		}
		msg := Message(err)
		if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
			t.Errorf("%v: message %q, want one line containing %q", tc.args, msg, tc.want)
		}
		if ExitCode(err) == 0 {
			t.Errorf("%v: exit code 0", tc.args)
		}
	}
}

func TestMessageAndExitCode(t *testing.T) {
	joined := errors.Join(errors.New("start apiserver: listen tcp :8080: address already in use"), errors.New("stop etcd: timeout"))
	if got := Message(joined); got != "start apiserver: listen tcp :8080: address already in use; stop etcd: timeout" {
		t.Errorf("Message = %q", got)
	}
	for _, tc := range []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errors.New("x"), 1},
		{fmt.Errorf("wrapped: %w", &testserver.ExitError{Code: 7}), 7},
		{ucli.Exit("bye", 3), 3},
	} {
		if got := ExitCode(tc.err); got != tc.code {
			t.Errorf("ExitCode(%v) = %d, want %d", tc.err, got, tc.code)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, err := run(t, "kubelite", "version", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var v version.Info
	if err := json.Unmarshal([]byte(out), &v); err != nil || v != version.Get() {
		t.Errorf("version --json = %q (%v), want %+v", out, err, version.Get())
	}
	out, _, _ = run(t, "kubelite", "version")
	if out != "kubelite "+version.Get().String()+"\n" {
		t.Errorf("version = %q", out)
	}
}

func TestPrintConfig(t *testing.T) {
	out, _, err := run(t, "kubelite", "master", "--config-dir=../../config/samples/master", "--portal-net=10.9.0.0/16", "--print-config")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--portal_net=10.9.0.0/16  # flag or environment\n",
		"--machines=192.168.1.201,192.168.1.202  # ../../config/samples/master/controller-manager:2\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("print-config lacks %q:\n%s", want, out)
		}
	}
}

func TestHelpGroupsFlags(t *testing.T) {
	out, _, err := run(t, "kubelite", "standalone", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"API server", "etcd", "Kubelet", "Proxy", "Networking", "Standalone", "--portal_net value, --portal-net value"} {
		if !strings.Contains(out, want) {
			t.Errorf("standalone --help lacks %q", want)
		}
	}
	out, _, _ = run(t, "kubelite", "--help")
	for _, hidden := range []string{"pause", "webserver", "images"} {
		if strings.Contains(out, " "+hidden+" ") {
			t.Errorf("kubelite --help shows hidden command %s", hidden)
		}
	}
}

func TestKubectlSymlinkArgs(t *testing.T) {
	// Invoked as kubectl, the binary is `kubelite kubectl`: its help is
	// kubectl's, whatever the path of the link.
	viaLink, _, errLink := run(t, "/usr/local/bin/kubectl", "--help")
	direct, _, errDirect := run(t, "kubelite", "kubectl", "--help")
	if fmt.Sprint(errLink) != fmt.Sprint(errDirect) || viaLink != direct {
		t.Errorf("kubectl link: %q %v; kubelite kubectl: %q %v", viaLink, errLink, direct, errDirect)
	}
}

func TestDoctorBrokenDockerSocket(t *testing.T) {
	out, _, err := run(t, "kubelite", "doctor", "--docker-endpoint=unix:///nonexistent/docker.sock", "--port=1", "--kubelet_port=2", "--etcd-addr=127.0.0.1:3", "--etcd-peer-addr=127.0.0.1:4")
	if err == nil {
		t.Fatal("doctor passed with a wrong Docker socket")
	}
	lines := strings.SplitN(out, "\n", 3)
	if !strings.HasPrefix(lines[0], "mode preflight: nothing listens on 127.0.0.1:1 yet") {
		t.Errorf("first line %q does not say the mode doctor chose", lines[0])
	}
	first := lines[1]
	want := "FAIL docker         cannot reach Docker at unix:///nonexistent/docker.sock: socket /nonexistent/docker.sock: stat /nonexistent/docker.sock: no such file or directory; fix: start the engine (systemctl start docker) or point --docker-endpoint at its socket"
	if first != want {
		t.Errorf("first line\n%q\nwant\n%q", first, want)
	}
}

// kubectl's help is kubectl's own, through kubelite and through the
// kubectl symlink alike.
func TestKubectlHelp(t *testing.T) {
	for _, argv0 := range [][]string{{"kubelite", "kubectl"}, {"/usr/local/bin/kubectl"}} {
		out, _, err := run(t, append(argv0, "help")...)
		if err != nil || !strings.Contains(out, "rollingupdate") || !strings.Contains(out, "Resources:") {
			t.Errorf("%v help: %v\n%s", argv0, err, out)
		}
		out, _, err = run(t, append(argv0, "help", "get")...)
		if err != nil || !strings.HasPrefix(out, "Usage: kubectl get ") || !strings.Contains(out, "--watch") {
			t.Errorf("%v help get: %v\n%s", argv0, err, out)
		}
		if _, _, err := run(t, append(argv0, "help", "frob")...); err == nil || ExitCode(err) != 1 {
			t.Errorf("%v help frob: %v", argv0, err)
		}
	}
}

// doctor's help lists only the flags it reads (the role's others are
// accepted, hidden), and each of those is one doctorFlags knows.
func TestDoctorListsFlagsItReads(t *testing.T) {
	for _, sub := range []string{"", "master", "minion"} {
		args := []string{"kubelite", "doctor"}
		if sub != "" {
			args = append(args, sub)
		}
		out, _, err := run(t, append(args, "--help")...)
		if err != nil {
			t.Fatal(err)
		}
		listed := 0
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || !strings.HasPrefix(f[0], "--") {
				continue
			}
			name := strings.TrimPrefix(strings.TrimSuffix(f[0], ","), "--")
			role := map[string]string{"": "standalone", "master": "master", "minion": "minion"}[sub]
			if !doctorFlags[role][name] && name != "mode" && name != "help" {
				t.Errorf("doctor %s --help lists --%s, which doctor does not read", sub, name)
			}
			listed++
		}
		if listed < 5 {
			t.Errorf("doctor %s --help lists %d flags:\n%s", sub, listed, out)
		}
		// Hidden flags are still accepted: a role's command line pastes.
		role := map[string][]string{"": {"--reset"}, "master": {"--etcd-embed", "--max-replicas=5"}, "minion": {"--master=10.0.0.1:8080", "--sync_frequency=5s"}}[sub]
		if _, _, err := run(t, append(append(args, "--config-dir=", "--v=1", "--print-config"), role...)...); err != nil {
			t.Errorf("doctor %s with a role's flags: %v", sub, err)
		}
	}
}

// With --etcd_servers there is no embedded etcd: preflight checks the API
// port only and asks the external etcd; --print-config prints, checks nothing.
func TestDoctorMasterExternalEtcd(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	var port, out string
	var err error
	// A port free a moment ago may be taken meanwhile on a busy machine
	// (another process's ephemeral port): try a few.
	for i := 0; i < 5; i++ {
		port = freePort(t)
		out, _, err = run(t, "kubelite", "doctor", "master", "--config-dir=", "--etcd_servers=http://127.0.0.1:1", "--address=127.0.0.1",
			"--port="+port, "--mode=preflight", "--data-dir="+dataDir)
		if !strings.Contains(out, "in use: --port") {
			break
		}
	}
	if err == nil || !strings.Contains(out, "ok   ports          free: 127.0.0.1:"+port+"\n") ||
		strings.Contains(out, "127.0.0.1:4001") || strings.Contains(out, ":7001") || !strings.Contains(out, "FAIL etcd           http://127.0.0.1:1: ") ||
		!strings.Contains(out, "ok   data-dir       "+dataDir+" writable") {
		t.Errorf("doctor master --etcd_servers: %v\n%s", err, out)
	}
	out, _, err = run(t, "kubelite", "doctor", "master", "--config-dir=", "--etcd-embed", "--print-config")
	if err != nil || !strings.Contains(out, "--etcd-embed=true") || strings.Contains(out, "ports ") {
		t.Errorf("doctor master --print-config: %v\n%s", err, out)
	}
	if _, _, err := run(t, "kubelite", "doctor", "--mode=sometimes"); err == nil || !strings.Contains(err.Error(), "want auto, preflight or check") {
		t.Errorf("doctor --mode=sometimes: %v", err)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// A minion without its join token is one failed check, not a reason to
// check nothing.
func TestDoctorMinionWithoutToken(t *testing.T) {
	out, _, err := run(t, "kubelite", "doctor", "minion", "--config-dir=", "--master=127.0.0.1:1", "--token-file=/nonexistent",
		"--runtime=fake", "--proxy-mode=none", "--address=127.0.0.1", "--port="+freePort(t), "--mode=preflight")
	if err == nil || !strings.HasPrefix(out, "FAIL token          no join token; fix: run `kubelite token` on the master") ||
		!strings.Contains(out, "\nok   ports ") || !strings.Contains(out, "\nFAIL api ") {
		t.Errorf("doctor minion without a token: %v\n%s", err, out)
	}
}
