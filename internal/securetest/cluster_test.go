package securetest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/endpoint"
	"kubelite/internal/testutil"
)

// The processes these tests start: real `kubelite master` and `kubelite
// minion` binaries on loopback ports, minions with --runtime=fake
// --proxy-mode=none --network=none (no root, Docker or iptables).

// proc is a started kubelite process; Wait may be called once, by waitExit
// or by the cleanup.
type proc struct {
	cmd     *exec.Cmd
	log     *testutil.SyncBuffer
	started time.Time
	done    chan struct{}
	err     error
}

func start(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), log: &testutil.SyncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.Env = append(p.cmd.Environ(), "KUBELITE_TOKEN=", "KUBECONFIG=")
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
			return
		default:
		}
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// exited reports whether the process ended, and how.
func (p *proc) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// waitExit waits for the process to end by itself and returns its exit code.
func (p *proc) waitExit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("%v still running after %s:\n%s", p.cmd.Args, within, p.log.String())
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	t.Fatalf("%v: %v", p.cmd.Args, p.err)
	return -1
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// master is a running `kubelite master --etcd-embed` on 127.0.0.1.
type master struct {
	*proc
	bin      string
	port     int
	dataDir  string
	insecure bool
	plain    string            // http://127.0.0.1:PORT
	url      string            // https://127.0.0.1:PORT (http:// when insecure)
	admin    endpoint.Endpoint // the admin kubeconfig's (plain when insecure)
	anon     endpoint.Endpoint // the same server and CA, no credential
	kubecfg  string            // DATA-DIR/admin.kubeconfig
	adminHC  *http.Client
	anonHC   *http.Client
	plainHC  *http.Client
}

func startMaster(t *testing.T, insecure bool) *master {
	t.Helper()
	bin := testutil.KubeliteBinary(t)
	m := &master{bin: bin, port: freePort(t), dataDir: t.TempDir(), insecure: insecure}
	args := []string{"master", "--config-dir=", "--etcd-embed", "--address=127.0.0.1",
		"--port=" + strconv.Itoa(m.port), "--data-dir=" + m.dataDir,
		"--etcd-addr=127.0.0.1:" + strconv.Itoa(freePort(t)), "--etcd-peer-addr=127.0.0.1:" + strconv.Itoa(freePort(t))}
	if insecure {
		args = append(args, "--insecure")
	}
	m.proc = start(t, bin, args...)
	m.plain = fmt.Sprintf("http://127.0.0.1:%d", m.port)
	m.plainHC = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	testutil.Eventually(t, 60*time.Second, func() error {
		if done, err := m.exited(); done {
			t.Fatalf("master exited (%v):\n%s", err, m.log.String())
		}
		return get(m.plainHC, m.plain+"/healthz", http.StatusOK)
	}, "master on :%d answers /healthz", m.port)
	if insecure {
		m.url = m.plain
		m.admin = endpoint.Endpoint{URL: m.plain}
		m.anon = m.admin
	} else {
		m.kubecfg = filepath.Join(m.dataDir, "admin.kubeconfig")
		ep, err := FromKubeconfig(m.kubecfg)
		if err != nil {
			t.Fatal(err)
		}
		m.admin, m.url = ep, ep.URL
		m.anon = endpoint.Endpoint{URL: ep.URL, TLS: ep.TLS}
	}
	m.adminHC = Client(m.admin, 10*time.Second)
	m.anonHC = Client(m.anon, 10*time.Second)
	return m
}

// token is what `kubelite token --data-dir` prints on the master.
func (m *master) token(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := Token(ctx, m.bin, m.dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// minion is a `kubelite minion` process of a master.
type minion struct {
	*proc
	name    string
	addr    string
	port    int
	rootDir string
}

// startMinion starts a minion of m named name, its kubelet on 127.0.0.1 on
// a free port; args give --master and the token flags.
func (m *master) startMinion(t *testing.T, name string, args ...string) *minion {
	t.Helper()
	return m.startMinionAt(t, name, "127.0.0.1", freePort(t), args...)
}

// startMinionAt is startMinion with the kubelet on addr:port (also its
// --host-ip).
func (m *master) startMinionAt(t *testing.T, name, addr string, port int, args ...string) *minion {
	t.Helper()
	n := &minion{name: name, addr: addr, port: port, rootDir: t.TempDir()}
	argv := append([]string{"minion", "--config-dir=", "--hostname_override=" + name,
		"--address=" + addr, "--port=" + strconv.Itoa(n.port), "--host-ip=" + addr,
		"--runtime=fake", "--proxy-mode=none", "--network=none", "--root-dir=" + n.rootDir,
		"--token-file=" + filepath.Join(n.rootDir, "no-token-file")}, args...)
	n.proc = start(t, m.bin, argv...)
	return n
}

// ready waits until minion name is Ready in the API, and returns how long
// after its process started.
func (m *master) ready(t *testing.T, n *minion) time.Duration {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, func() error {
		if done, err := n.exited(); done {
			t.Fatalf("minion %s exited (%v):\n%s", n.name, err, n.log.String())
		}
		var mn api.Minion
		if err := getJSON(m.adminHC, m.url+"/api/v1beta1/minions/"+n.name, &mn); err != nil {
			return err
		}
		if mn.Status.Condition != api.MinionReady {
			return fmt.Errorf("minion %s is %q", n.name, mn.Status.Condition)
		}
		return nil
	}, "minion %s Ready", n.name)
	return time.Since(n.started)
}

// --- HTTP --------------------------------------------------------------------

// call makes one request and returns the status and body.
func call(hc *http.Client, method, url string, body any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func get(hc *http.Client, url string, want int) error {
	code, body, err := call(hc, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("GET %s: %d, want %d: %.200s", url, code, want, body)
	}
	return nil
}

func getJSON(hc *http.Client, url string, out any) error {
	code, body, err := call(hc, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d: %.200s", url, code, body)
	}
	return json.Unmarshal([]byte(body), out)
}

// expect makes a request and fails t unless the status is want and the body
// holds every string of has; it returns the body.
func expect(t *testing.T, hc *http.Client, method, url string, body any, want int, has ...string) string {
	t.Helper()
	got, problem := request(hc, method, url, body, want, has)
	if problem != "" {
		t.Fatal(problem)
	}
	return got
}

// check is expect that lets the test go on after a failure: for tables of
// what a credential may and may not do, where every row is worth seeing.
func check(t *testing.T, hc *http.Client, method, url string, body any, want int, has ...string) {
	t.Helper()
	if _, problem := request(hc, method, url, body, want, has); problem != "" {
		t.Error(problem)
	}
}

func request(hc *http.Client, method, url string, body any, want int, has []string) (string, string) {
	code, got, err := call(hc, method, url, body)
	if err != nil {
		return "", fmt.Sprintf("%s %s: %v", method, url, err)
	}
	if code != want {
		return got, fmt.Sprintf("%s %s: %d, want %d: %.300s", method, url, code, want, got)
	}
	for _, h := range has {
		if !strings.Contains(got, h) {
			return got, fmt.Sprintf("%s %s: %d, body lacks %q: %.300s", method, url, code, h, got)
		}
	}
	return got, ""
}

// kubeletClient reaches a kubelet's TLS port with the given certificates
// (none: anonymous). The kubelet's serving certificate is not checked:
// these tests are about who may ask.
func kubeletClient(certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, Certificates: certs}}} //nolint:gosec // who may ask, not whom to trust
}

func podObject(id, host string) *api.Pod {
	p := &api.Pod{
		TypeMeta: api.TypeMeta{Kind: "Pod", APIVersion: "v1beta1", ID: id, Namespace: api.DefaultNamespace, Labels: map[string]string{"name": id}},
		DesiredState: api.PodState{Manifest: api.ContainerManifest{Version: "v1beta1", ID: id,
			Containers: []api.Container{{Name: "web", Image: "kubelite/webserver:v1"}}}},
	}
	p.DesiredState.Host = host
	return p
}

// oneLine checks that a process that failed said so in exactly one line
// starting "kubelite: " (nothing before it).
func oneLine(t *testing.T, what, out string, has ...string) {
	t.Helper()
	out = strings.TrimRight(out, "\n")
	if strings.Contains(out, "\n") || !strings.HasPrefix(out, "kubelite: ") {
		t.Errorf("%s: want one line starting \"kubelite: \", got:\n%s", what, out)
	}
	for _, h := range has {
		if !strings.Contains(out, h) {
			t.Errorf("%s: %q lacks %q", what, out, h)
		}
	}
}
