//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/lab"
	"kubelite/internal/runtime"
	"kubelite/internal/securetest"
	"kubelite/internal/testutil"
)

// Timing of the lab's master: a minion silent for grace is NotReady, its pods
// are replaced eviction later (issue 6, scenario 5: within grace + eviction +
// 10 s). The kubelet heartbeats every 5 s (plus up to 10% jitter), so grace
// must span more than one heartbeat or healthy minions flap to NotReady: 12 s
// lets two heartbeats go missing, as the upstream defaults (40 s over 10 s
// status updates) let several.
const (
	grace    = 12 * time.Second
	eviction = 10 * time.Second
	apiPort  = 8080
)

// cluster is the lab with kubelite running on it.
//
// By default it runs secure, as a newcomer's cluster does: the master makes
// its identity on its first start; each minion reads the join token from a
// file of its own host (the lab's /etc/kubernetes/token: --token-file); the
// suite and kubectl use the admin kubeconfig that `kubelite kubeconfig
// --server https://<master>:8080` prints. setInsecure switches the whole
// cluster to the 2014 behaviour (master --insecure, minions
// --master=http://...) and back.
type cluster struct {
	lab  *lab.Lab
	bin  string // the static kubelite binary
	self string // this test binary (the e2e-helper)
	root string // the module root (testdata/tutorial)
	// insecure: the cluster runs --insecure (plain HTTP, no credentials).
	insecure bool
	api      string       // https://<master>:8080 (http:// when insecure)
	hc       *http.Client // the admin's client (anonymous and plain when insecure)
	// kubeconfig is the admin kubeconfig kubectl uses (secure mode).
	kubeconfig string
	// deadline is when the scenarios must have ended (TestE2E sets it).
	deadline time.Time

	mu      sync.Mutex
	master  *lab.Process
	minions map[string]*lab.Process // by host name
	extra   map[string][]string     // extra minion flags currently in effect, by host name
}

// newCluster builds the binary, brings the lab up (torn down by t.Cleanup),
// builds the images into every minion's engine and starts kubelite on every
// host. It does not wait for the minions to register: see waitReady.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	lab.RequireSystem(t)
	root, err := testutil.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	lockLab(t)
	bin := testutil.KubeliteBinary(t) // testutil's shared cache: reused, not removed
	removeHostDirs := tutorialHostDirs(t)
	// lab.ForTest without its dump of every engine's log at failure: each
	// failed scenario prints the cluster's state (dump) instead.
	l, err := lab.New(lab.Config{Name: "e2e", Minions: 2, Index: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(removeHostDirs) // after the lab is down (cleanups run last-in first-out)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := l.Down(ctx); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	upCtx, upCancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer upCancel()
	if err := l.Up(upCtx); err != nil {
		t.Fatalf("lab up: %v", err)
	}
	c := &cluster{
		lab: l, bin: bin, self: self, root: root,
		kubeconfig: filepath.Join(l.Config().Root, "admin.kubeconfig"),
		minions:    map[string]*lab.Process{},
		extra:      map[string][]string{},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(l.Minions()))
	for i, h := range l.Minions() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.CommandContext(ctx, bin, "images", "--docker-endpoint", h.Engine.DockerHost()).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("kubelite images on %s: %w: %s", h.Name, err, out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	m, err := l.Start(l.Master(), "kubelite", c.masterArgv()...)
	if err != nil {
		t.Fatal(err)
	}
	c.master = m
	if err := c.credentials(ctx); err != nil {
		t.Fatal(err)
	}
	for _, h := range l.Minions() {
		p, err := l.Start(h, "kubelite", c.minionArgv(h)...)
		if err != nil {
			t.Fatal(err)
		}
		c.minions[h.Name] = p
	}
	return c
}

// credentials does on the master what the README tells a newcomer to do
// once it runs: `kubelite token` (written to each minion host's token file,
// 0600) and `kubelite kubeconfig --server https://<master>:8080` (the
// admin's, for kubectl and this suite). The master makes its identity as
// it starts, so this waits for it (or for the master to exit).
func (c *cluster) credentials(ctx context.Context) error {
	dataDir := c.masterDataDir()
	var tok string
	err := poll(ctx, time.Minute, func() (bool, string) {
		if done, err := c.master.Exited(); done {
			return false, fmt.Sprintf("master exited (%v): %s", err, strings.Join(c.master.Tail(5), " | "))
		}
		var err error
		tok, err = securetest.Token(ctx, c.bin, dataDir)
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if err != nil {
		return fmt.Errorf("the master's join token: %w", err)
	}
	for _, h := range c.lab.Minions() {
		if err := os.MkdirAll(c.hostDir(h), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(c.tokenFile(h), []byte(tok+"\n"), 0o600); err != nil {
			return fmt.Errorf("token file of %s: %w", h.Name, err)
		}
	}
	server := fmt.Sprintf("https://%s:%d", c.lab.Master().Addr, apiPort)
	kc, err := securetest.Kubeconfig(ctx, c.bin, dataDir, server)
	if err != nil {
		return err
	}
	if err := os.WriteFile(c.kubeconfig, kc, 0o600); err != nil {
		return fmt.Errorf("admin kubeconfig: %w", err)
	}
	if err := c.useMode(false); err != nil {
		return err
	}
	return c.waitAPI(ctx)
}

// waitAPI waits until the master's API answers /healthz. A minion that
// must join (fetch the CA) exits at once when the API does not listen yet,
// so the minions start after this, as a person starts them after the
// master is up and `kubelite token` has printed.
func (c *cluster) waitAPI(ctx context.Context) error {
	return poll(ctx, time.Minute, func() (bool, string) {
		if done, err := c.master.Exited(); done {
			return false, fmt.Sprintf("master exited (%v): %s", err, strings.Join(c.master.Tail(5), " | "))
		}
		if err := c.healthy(ctx); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// useMode points the suite's API client at the cluster as it now runs:
// https with the admin kubeconfig, or plain anonymous HTTP when insecure.
func (c *cluster) useMode(insecure bool) error {
	c.insecure = insecure
	if insecure {
		c.api = fmt.Sprintf("http://%s:%d", c.lab.Master().Addr, apiPort)
		c.hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
		return nil
	}
	ep, err := securetest.FromKubeconfig(c.kubeconfig)
	if err != nil {
		return err
	}
	c.api = ep.URL
	c.hc = securetest.Client(ep, 10*time.Second)
	return nil
}

// setInsecure restarts the whole cluster in the other mode: every minion
// stopped, the master stopped and started again on the same data dir (with
// or without --insecure), the minions started again (http:// and no token,
// or the token file). The objects in etcd stay.
func (c *cluster) setInsecure(ctx context.Context, insecure bool) error {
	if insecure == c.insecure {
		return nil
	}
	c.mu.Lock()
	var procs []*lab.Process
	for _, h := range c.lab.Minions() {
		procs = append(procs, c.minions[h.Name])
	}
	c.mu.Unlock()
	for _, p := range procs {
		if err := p.Stop(20 * time.Second); err != nil {
			return err
		}
	}
	if err := c.master.Stop(30 * time.Second); err != nil {
		return err
	}
	c.insecure = insecure // the argv follow the mode
	m, err := c.lab.Start(c.lab.Master(), "kubelite", c.masterArgv()...)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.master = m
	c.mu.Unlock()
	if err := c.useMode(insecure); err != nil {
		return err
	}
	if err := c.waitAPI(ctx); err != nil {
		return err
	}
	for _, h := range c.lab.Minions() {
		p, err := c.lab.Start(h, "kubelite", c.minionArgv(h)...)
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.minions[h.Name] = p
		c.extra[h.Name] = nil
		c.mu.Unlock()
	}
	return nil
}

// lockPath serializes suites on one machine: a lab comes up by first removing
// every leftover of its name, which would tear down a lab another run is using.
const lockPath = "/run/kubelite-e2e.lock"

// lockLab takes the machine-wide lock for the lab, waiting up to 3 minutes
// for another run of the suite to end; the lock goes with the process.
func lockLab(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("lock %s: %v", lockPath, err)
	}
	var lockErr error
	testutil.Eventually(t, 3*time.Minute, func() error {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder, _ := os.ReadFile(lockPath)
			return fmt.Errorf("another end-to-end run (%s) holds it", strings.TrimSpace(string(holder)))
		}
		lockErr = err
		return nil
	}, "lock %s", lockPath)
	if lockErr != nil {
		t.Fatalf("lock %s: %v", lockPath, lockErr)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d since %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))), 0)
	t.Cleanup(func() { f.Close() }) // runs last: after the lab is down
}

// tutorialHostDirs returns a cleanup that removes the host directories the
// tutorial's lnmp-replication.json mounts (hostDir volumes: Docker creates a
// missing bind source) when they did not exist before the suite and are
// still empty.
func tutorialHostDirs(t *testing.T) func() {
	dirs := []string{"/etc/httpd/conf.d", "/etc/httpd/conf", "/etc/httpd", "/data"}
	var missing []string
	for _, d := range dirs {
		if _, err := os.Stat(d); errors.Is(err, os.ErrNotExist) {
			missing = append(missing, d)
		}
	}
	return func() {
		for _, d := range missing { // deepest first: os.Remove only removes empty directories
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Logf("leave %s: %v", d, err)
			}
		}
	}
}

func (c *cluster) hostDir(h *lab.Host) string { return filepath.Join(c.lab.Config().Root, h.Name) }

func (c *cluster) masterDataDir() string { return filepath.Join(c.hostDir(c.lab.Master()), "data") }

// tokenFile is minion host h's /etc/kubernetes/token: the lab's hosts share
// the machine's file system, so each has its own path.
func (c *cluster) tokenFile(h *lab.Host) string { return filepath.Join(c.hostDir(h), "token") }

func (c *cluster) masterArgv() []string {
	argv := []string{c.bin, "master", "--config-dir=", "--etcd-embed",
		"--data-dir=" + c.masterDataDir(),
		"--address=0.0.0.0", "--port=" + strconv.Itoa(apiPort),
		"--node_monitor_grace_period=" + grace.String(),
		"--pod_eviction_timeout=" + eviction.String(),
	}
	if c.insecure {
		argv = append(argv, "--insecure")
	}
	return argv
}

func (c *cluster) minionArgv(h *lab.Host, extra ...string) []string {
	master := fmt.Sprintf("--master=%s:%d", c.lab.Master().Addr, apiPort)
	if c.insecure {
		master = fmt.Sprintf("--master=http://%s:%d", c.lab.Master().Addr, apiPort)
	}
	argv := []string{c.bin, "minion", "--config-dir=", master}
	if !c.insecure {
		argv = append(argv, "--token-file="+c.tokenFile(h))
	}
	argv = append(argv,
		"--hostname_override="+h.Addr.String(),
		"--host-ip="+h.Addr.String(),
		"--docker-endpoint="+h.Engine.DockerHost(),
		"--root-dir="+filepath.Join(c.hostDir(h), "kubelet"),
	)
	return append(argv, extra...)
}

// minion returns the kubelite process of minion host h.
func (c *cluster) minion(h *lab.Host) *lab.Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.minions[h.Name]
}

// restartMinion stops h's kubelite (SIGTERM, as a clean shutdown would;
// nothing if it is not running) and starts it again with the given extra
// flags. Its log continues in the same file.
func (c *cluster) restartMinion(h *lab.Host, extra ...string) error {
	c.mu.Lock()
	old := c.minions[h.Name]
	c.mu.Unlock()
	if err := old.Stop(20 * time.Second); err != nil {
		return err
	}
	p, err := c.lab.Start(h, "kubelite", c.minionArgv(h, extra...)...)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.minions[h.Name] = p
	c.extra[h.Name] = extra
	c.mu.Unlock()
	return nil
}

// switchProxyMode stops h's kubelite, removes the proxy's iptables rules with
// `kubelite minion --cleanup-iptables` (the documented clean shutdown) and
// starts it again with --proxy-mode=mode (iptables: the default flags).
func (c *cluster) switchProxyMode(ctx context.Context, h *lab.Host, mode string) error {
	if err := c.minion(h).Stop(20 * time.Second); err != nil {
		return err
	}
	if out, err := c.lab.Exec(ctx, h, c.bin, "minion", "--config-dir=", "--cleanup-iptables"); err != nil {
		return fmt.Errorf("kubelite minion --cleanup-iptables on %s: %w: %s", h.Name, err, out)
	}
	if mode == "iptables" {
		return c.restartMinion(h)
	}
	return c.restartMinion(h, "--proxy-mode="+mode)
}

// --- the API, as the admin (over https) ----------------------------------

func (c *cluster) apiURL(res string, id string, q url.Values) string {
	u := c.api + "/api/v1beta1/" + res
	if id != "" {
		u += "/" + url.PathEscape(id)
	}
	if q == nil {
		q = url.Values{}
	}
	if q.Get("namespace") == "" && res != "minions" {
		q.Set("namespace", api.DefaultNamespace)
	}
	return u + "?" + q.Encode()
}

func (c *cluster) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: %s: %s", u, resp.Status, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	return nil
}

func (c *cluster) del(ctx context.Context, res, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.apiURL(res, id, nil), nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("delete %s/%s: %s: %s", res, id, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

func (c *cluster) pods(ctx context.Context, selector string) ([]api.Pod, error) {
	q := url.Values{}
	if selector != "" {
		q.Set("labels", selector)
	}
	var l api.PodList
	if err := c.getJSON(ctx, c.apiURL("pods", "", q), &l); err != nil {
		return nil, err
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].ID < l.Items[j].ID })
	return l.Items, nil
}

func (c *cluster) pod(ctx context.Context, id string) (*api.Pod, error) {
	var p api.Pod
	if err := c.getJSON(ctx, c.apiURL("pods", id, nil), &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (c *cluster) service(ctx context.Context, id string) (*api.Service, error) {
	var s api.Service
	if err := c.getJSON(ctx, c.apiURL("services", id, nil), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (c *cluster) services(ctx context.Context) ([]api.Service, error) {
	var l api.ServiceList
	if err := c.getJSON(ctx, c.apiURL("services", "", nil), &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

func (c *cluster) endpoints(ctx context.Context, id string) ([]string, error) {
	var e api.Endpoints
	if err := c.getJSON(ctx, c.apiURL("endpoints", id, nil), &e); err != nil {
		return nil, err
	}
	sort.Strings(e.Endpoints)
	return e.Endpoints, nil
}

func (c *cluster) minionObjects(ctx context.Context) ([]api.Minion, error) {
	var l api.MinionList
	if err := c.getJSON(ctx, c.apiURL("minions", "", nil), &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

func (c *cluster) rcs(ctx context.Context) ([]api.ReplicationController, error) {
	var l api.ReplicationControllerList
	if err := c.getJSON(ctx, c.apiURL("replicationControllers", "", nil), &l); err != nil {
		return nil, err
	}
	return l.Items, nil
}

// healthy reports whether the master's API answers /healthz.
func (c *cluster) healthy(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz: %s", resp.Status)
	}
	return nil
}

// readyMinions lists the names of the minions whose condition is Ready.
func (c *cluster) readyMinions(ctx context.Context) ([]string, error) {
	ms, err := c.minionObjects(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range ms {
		if m.Status.Condition == api.MinionReady {
			out = append(out, m.ID)
		}
	}
	sort.Strings(out)
	return out, nil
}

// waitReady waits until the API answers and every minion host is a Ready minion.
func (c *cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	want := make([]string, 0, len(c.lab.Minions()))
	for _, h := range c.lab.Minions() {
		want = append(want, h.Addr.String())
	}
	sort.Strings(want)
	return poll(ctx, timeout, func() (bool, string) {
		if err := c.healthy(ctx); err != nil {
			return false, err.Error()
		}
		got, err := c.readyMinions(ctx)
		if err != nil {
			return false, err.Error()
		}
		return strings.Join(got, ",") == strings.Join(want, ","), fmt.Sprintf("ready minions %v, want %v", got, want)
	})
}

// --- the CLI ---------------------------------------------------------------

// kubectl runs `kubelite kubectl --kubeconfig <admin.kubeconfig> args...`
// in the master's namespace (`-s http://<master>:8080` when insecure).
func (c *cluster) kubectl(ctx context.Context, args ...string) (string, error) {
	argv := []string{c.bin, "kubectl", "--kubeconfig", c.kubeconfig}
	if c.insecure {
		argv = []string{c.bin, "kubectl", "-s", c.api}
	}
	argv = append(argv, args...)
	out, err := c.lab.Exec(ctx, c.lab.Master(), argv...)
	return string(out), err
}

// --- traffic from inside the lab -------------------------------------------

// getFrom makes n GETs of u from host h's network namespace, each with a 1 s
// timeout (an answer inside the lab takes milliseconds), and stops after 3
// failures: a failing check fails fast.
func (c *cluster) getFrom(ctx context.Context, h *lab.Host, n int, u string) []answer {
	return c.getFromT(ctx, h, n, time.Second, u)
}

// getFromT is getFrom with a timeout per GET.
func (c *cluster) getFromT(ctx context.Context, h *lab.Host, n int, timeout time.Duration, u string) []answer {
	out, err := c.lab.Exec(ctx, h, c.self, helperArg, "get", "-n", strconv.Itoa(n), "-timeout", timeout.String(), "-max-fails", "3", u)
	as := parseAnswers(out)
	if err != nil && len(as) == 0 {
		as = append(as, answer{Err: err.Error()})
	}
	return as
}

// getFromPod makes n GETs of u from the network namespace of pod on host h.
func (c *cluster) getFromPod(ctx context.Context, h *lab.Host, pod string, n int, u string) ([]answer, error) {
	cs, err := c.containers(ctx, h)
	if err != nil {
		return nil, err
	}
	var id string
	for _, ct := range cs {
		if ct.pod == pod && ct.running {
			id = ct.id
			break
		}
	}
	if id == "" {
		return nil, fmt.Errorf("no running container of pod %s on %s", pod, h.Name)
	}
	out, err := c.lab.Docker(ctx, h, "inspect", "-f", "{{.State.Pid}}", id)
	if err != nil {
		return nil, err
	}
	pid := strings.TrimSpace(string(out))
	out, err = exec.CommandContext(ctx, "nsenter", "--net=/proc/"+pid+"/ns/net", "--",
		c.self, helperArg, "get", "-n", strconv.Itoa(n), "-timeout", "1s", "-max-fails", "3", u).CombinedOutput()
	as := parseAnswers(out)
	if err != nil && len(as) == 0 {
		return nil, fmt.Errorf("get from pod %s: %w: %s", pod, err, out)
	}
	return as, nil
}

// prober GETs a URL from a host every interval until stopped.
type prober struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   bytes.Buffer
}

func (c *cluster) startProber(h *lab.Host, u string, interval time.Duration) (*prober, error) {
	p := &prober{}
	p.cmd = exec.Command("nsenter", "--net="+h.NSPath, "--", c.self, helperArg, "get",
		"-until-eof", "-interval", interval.String(), "-timeout", "1s", u)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	in, err := p.cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	p.stdin = in
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// stop ends the prober and returns its answers.
func (p *prober) stop() []answer {
	p.stdin.Close()
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
	return parseAnswers(p.out.Bytes())
}

// tally counts answers per pod name and collects the failures.
func tally(as []answer) (map[string]int, []string) {
	pods := map[string]int{}
	var fails []string
	for _, a := range as {
		if a.ok() && a.Pod != "" {
			pods[a.Pod]++
			continue
		}
		if a.Err != "" {
			fails = append(fails, a.Err)
		} else {
			fails = append(fails, fmt.Sprintf("status %d pod %q body %q", a.Status, a.Pod, a.Body))
		}
	}
	return pods, fails
}

// --- containers on the minions' engines -------------------------------------

type container struct {
	id, pod, name, ports string
	running              bool
}

// containers lists the kubelite-managed containers on minion h's engine.
func (c *cluster) containers(ctx context.Context, h *lab.Host) ([]container, error) {
	format := fmt.Sprintf(`{{.ID}}|{{.Label %q}}|{{.Label %q}}|{{.State}}|{{.Ports}}`, runtime.LabelPodName, runtime.LabelContainerName)
	out, err := c.lab.Docker(ctx, h, "ps", "-a", "--no-trunc", "--filter", "label="+runtime.LabelManaged+"=true", "--format", format)
	if err != nil {
		return nil, err
	}
	var cs []container
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "|", 5)
		if len(f) < 5 {
			continue
		}
		cs = append(cs, container{id: f[0], pod: f[1], name: f[2], running: f[3] == "running", ports: f[4]})
	}
	return cs, nil
}

// --- polling -----------------------------------------------------------------

// poll calls f every 200 ms until it reports done, ctx ends or timeout passes;
// the error carries f's last description of the state.
func poll(ctx context.Context, timeout time.Duration, f func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, state := f()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s: %s", timeout, state)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s", ctx.Err(), state)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// --- pods ----------------------------------------------------------------------

func running(p api.Pod) bool {
	return p.CurrentState.Phase == api.PodPhaseRunning ||
		(p.CurrentState.Phase == "" && p.CurrentState.Status == api.PodRunning)
}

// host is the minion a pod is bound to ("" when unassigned).
func host(p api.Pod) string {
	if p.CurrentState.Host != "" {
		return p.CurrentState.Host
	}
	return p.DesiredState.Host
}

func image(p api.Pod) string {
	var imgs []string
	for _, ct := range p.DesiredState.Manifest.Containers {
		imgs = append(imgs, ct.Image)
	}
	return strings.Join(imgs, ",")
}

func names(ps []api.Pod) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.ID)
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// podSummary is a one-line view of pods for failure messages.
func podSummary(ps []api.Pod) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString("; ")
		}
		st := string(p.CurrentState.Phase)
		if st == "" {
			st = string(p.CurrentState.Status)
		}
		fmt.Fprintf(&b, "%s %s on %q ip %s", p.ID, st, host(p), p.CurrentState.PodIP)
		if p.CurrentState.Reason != "" || p.CurrentState.Message != "" {
			fmt.Fprintf(&b, " (%s: %s)", p.CurrentState.Reason, p.CurrentState.Message)
		}
	}
	if len(ps) == 0 {
		return "no pods"
	}
	return b.String()
}
