package testserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"kubelite/internal/testutil"
)

// TestMain lets the test binary play the image personalities when started
// under one of their names (the subprocess tests below rely on it).
func TestMain(m *testing.M) {
	if handled, err := DispatchArgv0(os.Args); handled {
		if err != nil && ExitCode(err) == 1 {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(ExitCode(err))
	}
	os.Exit(m.Run())
}

func TestShWords(t *testing.T) {
	tests := []struct {
		args    []string
		want    []string
		wantErr bool
	}{
		{[]string{"-c", "/usr/bin/supervisord -c /etc/supervisord.conf"}, []string{"/usr/bin/supervisord", "-c", "/etc/supervisord.conf"}, false},
		{[]string{"-c", "  a   'b c' \"d\"e "}, []string{"a", "b c", "de"}, false},
		{[]string{"-c", "a 'b"}, nil, true},
		{[]string{"-c", "   "}, nil, true},
		{[]string{"x"}, nil, true},
		{nil, nil, true},
	}
	for _, tt := range tests {
		got, err := ShWords(tt.args)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ShWords(%q) = %q, %v; want %q, err=%v", tt.args, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseFlags(t *testing.T) {
	t.Setenv(VersionEnv, "v9")
	t.Setenv(PortEnv, "")
	tests := []struct {
		name    string
		args    []string
		want    Config
		wantErr bool
	}{
		{NameWebserver, nil, Config{Addr: ":80", Version: "v9"}, false},
		{NameWebserver, []string{"--port=8080", "--version", "v2"}, Config{Addr: ":8080", Version: "v2"}, false},
		{NameWebserver, []string{"-c", "x"}, Config{}, true},
		{NameWebserver, []string{"--port=0"}, Config{}, true},
		{NameSupervisord, []string{"-c", "/etc/supervisord.conf"}, Config{Addr: ":80", Version: "v9"}, false},
		{NameHTTPD, []string{"-DFOREGROUND", "--port", "81"}, Config{Addr: ":81", Version: "v9"}, false},
	}
	for _, tt := range tests {
		got, err := ParseFlags(tt.name, tt.args, io.Discard)
		if (err != nil) != tt.wantErr || got.Addr != tt.want.Addr || got.Version != tt.want.Version {
			t.Errorf("ParseFlags(%s, %q) = %+v, %v; want %+v, err=%v", tt.name, tt.args, got, err, tt.want, tt.wantErr)
		}
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHandler(t *testing.T) {
	var access strings.Builder
	h, exit := Handler(Config{Hostname: "web-1", Version: "v1", AccessLog: &access})
	srv := httptest.NewServer(h)
	defer srv.Close()

	code, body := get(t, srv.URL+"/info.php?x=1")
	if code != 200 || !strings.Contains(body, "pod: web-1\n") || !strings.Contains(body, "version: v1\n") ||
		!strings.Contains(body, "request: GET /info.php?x=1 HTTP/1.1\n") {
		t.Fatalf("info page: %d %q", code, body)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Fatalf("healthz before fail-health: %d", code)
	}
	get(t, srv.URL+"/fail-health")
	if code, _ := get(t, srv.URL+"/healthz"); code != 500 {
		t.Fatalf("healthz after fail-health: %d, want 500", code)
	}
	get(t, srv.URL+"/heal")
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Fatalf("healthz after heal: %d", code)
	}
	if code, _ := get(t, srv.URL+"/exit?code=x"); code != 400 {
		t.Fatalf("exit with bad code: %d, want 400", code)
	}
	get(t, srv.URL+"/exit?code=7")
	select {
	case c := <-exit:
		if c != 7 {
			t.Fatalf("exit code %d, want 7", c)
		}
	default:
		t.Fatal("no exit requested")
	}
	if _, body := get(t, srv.URL+"/version"); body != "v1\n" {
		t.Fatalf("version: %q", body)
	}
	fp := filepath.Join(t.TempDir(), "f")
	resp, err := http.Post(srv.URL+"/file?path="+fp, "text/plain", strings.NewReader("hello"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("write file: %v %v", resp, err)
	}
	resp.Body.Close()
	if code, body := get(t, srv.URL+"/file?path="+fp); code != 200 || body != "hello" {
		t.Fatalf("read file: %d %q", code, body)
	}
	if code, _ := get(t, srv.URL+"/file?path="+fp+".absent"); code != 404 {
		t.Fatalf("read absent file: %d", code)
	}
	if !strings.Contains(access.String(), " GET /info.php?x=1 from ") {
		t.Fatalf("access log lacks the info request: %q", access.String())
	}
}

func TestRunExitAndCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), Config{Listener: l}) }()
	get(t, "http://"+l.Addr().String()+"/exit?code=3")
	select {
	case err := <-done:
		if ExitCode(err) != 3 {
			t.Fatalf("Run returned %v, want exit code 3", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after /exit")
	}

	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan net.Addr, 1)
	go func() { done <- Run(ctx, Config{Addr: "127.0.0.1:0", Started: func(a net.Addr) { started <- a }}) }()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != 0 || ExitCode(errors.New("x")) != 1 || ExitCode(fmt.Errorf("w: %w", &ExitError{Code: 5})) != 5 {
		t.Fatal("ExitCode mapping wrong")
	}
}

func TestDispatchIgnoresOtherNames(t *testing.T) {
	for _, args := range [][]string{nil, {"/usr/local/bin/kubelite", "master"}, {"kubelite"}} {
		if handled, err := DispatchArgv0(args); handled || err != nil {
			t.Fatalf("DispatchArgv0(%q) = %v, %v", args, handled, err)
		}
	}
}

// link makes dir/name point at the test binary.
func link(t *testing.T, dir, name string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.Symlink(self, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestShExecsSupervisord runs the tutorial's command line through the
// binary's sh and supervisord personalities, as the yorko/webserver image does.
func TestShExecsSupervisord(t *testing.T) {
	dir := t.TempDir()
	sh := link(t, dir, "sh")
	sup := link(t, dir, "supervisord")
	// freePort's port can be taken by another test process before the
	// child binds it: then the child says so and exits, and another port is
	// tried (at most three).
	var (
		port   int
		url    string
		waited chan error
	)
	for attempt := 1; ; attempt++ {
		port = freePort(t)
		cmd := exec.Command(sh, "-c", sup+" -c /etc/supervisord.conf")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", PortEnv, port), VersionEnv+"=v2")
		var stderr testutil.SyncBuffer
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waited = make(chan error, 1)
		go func(w chan error) { w <- cmd.Wait() }(waited)
		t.Cleanup(func() { cmd.Process.Kill() })
		url = fmt.Sprintf("http://127.0.0.1:%d", port)
		taken := false
		testutil.Eventually(t, 10*time.Second, func() error {
			select {
			case err := <-waited:
				waited <- err
				if strings.Contains(stderr.String(), "address already in use") && attempt < 3 {
					taken = true
					return nil
				}
				t.Fatalf("the supervisord personality ended before answering: %v; output: %s", err, stderr.String())
			default:
			}
			return HealthCheck(context.Background(), url+"/healthz")
		}, "the supervisord personality answers (output so far: %s)", &stderr)
		if !taken {
			break
		}
		t.Logf("port %d was taken before the child bound it: %s", port, stderr.String())
	}
	// The exec probe command: "<name> healthcheck <port>".
	hc := exec.Command(sup, "healthcheck", fmt.Sprint(port))
	if err := hc.Run(); err != nil {
		t.Fatalf("healthcheck while healthy: %v", err)
	}
	get(t, url+"/fail-health")
	hc = exec.Command(sup, "healthcheck", fmt.Sprint(port))
	if err := hc.Run(); err == nil {
		t.Fatal("healthcheck succeeded while unhealthy")
	}
	if _, body := get(t, url+"/"); !strings.Contains(body, "version: v2") {
		t.Fatalf("body %q lacks version v2", body)
	}
	get(t, url+"/exit?code=4")
	select {
	case err := <-waited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 4 {
			t.Fatalf("process ended with %v, want exit code 4", err)
		}
		waited <- err
	case <-time.After(10 * time.Second):
		t.Fatal("process did not exit after /exit?code=4")
	}
}

func TestPauseStopsOnSIGTERM(t *testing.T) {
	pause := link(t, t.TempDir(), "pause")
	cmd := exec.Command(pause)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	// The line is printed once the signal handler is installed.
	line := make([]byte, 64)
	if n, err := out.Read(line); err != nil || !strings.HasPrefix(string(line[:n]), "pause: waiting") {
		t.Fatalf("pause said %q, %v", line[:n], err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		t.Fatalf("pause exited by itself: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("pause after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("pause did not exit on SIGTERM")
	}
}

func TestShBuiltins(t *testing.T) {
	sh := link(t, t.TempDir(), "sh")
	for _, tt := range []struct {
		cmd  string
		code int
	}{{"true", 0}, {"false", 1}, {"exit 3", 3}, {"/nonexistent/x", 1}, {"nothere", 127}} {
		err := exec.Command(sh, "-c", tt.cmd).Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tt.code {
			t.Errorf("sh -c %q exited %d, want %d", tt.cmd, code, tt.code)
		}
	}
}

// TestReportSaysWhy: a personality that fails prints why before it exits
// (a container that exits 1 in silence cannot be debugged); an exit a
// client asked for prints nothing.
func TestReportSaysWhy(t *testing.T) {
	var b bytes.Buffer
	if code := Report(&b, "/usr/bin/supervisord", errors.New("webserver listen :80: address already in use")); code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if got, want := b.String(), "supervisord: webserver listen :80: address already in use\n"; got != want {
		t.Fatalf("printed %q, want %q", got, want)
	}
	b.Reset()
	if code := Report(&b, "webserver", &ExitError{Code: 4}); code != 4 || b.Len() != 0 {
		t.Fatalf("requested exit: code %d, printed %q; want 4 and nothing", code, b.String())
	}
	if code := Report(&b, "webserver", nil); code != 0 || b.Len() != 0 {
		t.Fatalf("nil: code %d, printed %q", code, b.String())
	}
}
