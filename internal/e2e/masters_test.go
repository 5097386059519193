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
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/images"
	"kubelite/internal/lab"
	"kubelite/internal/runtime"
	"kubelite/internal/securetest"
	"kubelite/internal/testutil"
)

// The three-master lab (issue 13): lab "tri", Index 11, masters
// master1..3 and minions minion1..2, all secure, grown as README's
// "Growing" tells a user to.
const (
	triLease = 5 * time.Second // the masters' --leader-lease (the default is 15s; 5s keeps the takeover rows short)
	// crashRoundsEnv sets the number of kill -9 rounds of the durability
	// test (default 3; the full run is 20).
	crashRoundsEnv = "KUBELITE_E2E_CRASH_ROUNDS"
)

// tri is the three-master cluster on its lab.
type tri struct {
	t          *testing.T
	lab        *lab.Lab
	bin        string
	kubeconfig string
	hc         *http.Client // the admin's client, for any master (same CA, same token)
	start      time.Time

	mu      sync.Mutex
	masters map[string]*lab.Process // by host name
	minions map[string]*lab.Process
	extra   map[string][]string // extra master flags of the current run (--restore)
	data    map[string]string   // a master's current --data-dir
}

func (c *tri) logf(format string, args ...any) {
	c.t.Helper()
	c.t.Logf("[%6.1fs] %s", time.Since(c.start).Seconds(), fmt.Sprintf(format, args...))
}

// TestMasters runs issue 13's lab scenario on three masters and two
// minions, then the durability crash test. Figures are printed as lines
// "MASTERS <what> <value>".
func TestMasters(t *testing.T) {
	lab.RequireSystem(t)
	start := time.Now()
	bin := testutil.KubeliteBinary(t)
	l := lab.ForTest(t, lab.Config{Name: "tri", Masters: 3, Minions: 2, Index: 11})
	c := &tri{
		t: t, lab: l, bin: bin, start: start,
		kubeconfig: filepath.Join(l.Config().Root, "admin.kubeconfig"),
		masters:    map[string]*lab.Process{},
		minions:    map[string]*lab.Process{},
		extra:      map[string][]string{},
		data:       map[string]string{},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()
	c.images(ctx)
	c.logf("lab up, images built")

	steps := []struct {
		name string
		f    func(ctx context.Context)
	}{
		{"a-join", c.stepJoin},
		{"b-portal-ips", c.stepPortalIPs},
		{"c-leader-kill", c.stepLeaderKill},
		{"d-quorum-loss", c.stepQuorumLoss},
		{"crash", c.stepCrash},
		{"e-restore-rejoin", c.stepRestore},
	}
	for _, s := range steps {
		ss := time.Now()
		s.f(ctx)
		fmt.Printf("MASTERS %-18s PASS %6.1fs\n", s.name, time.Since(ss).Seconds())
	}
}

// images builds the test images straight into each minion's engine.
func (c *tri) images(ctx context.Context) {
	var wg sync.WaitGroup
	errs := make([]error, len(c.lab.Minions()))
	for i, h := range c.lab.Minions() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.CommandContext(ctx, c.bin, "images", "--docker-endpoint", h.Engine.DockerHost(), images.Pause, images.WebserverV1).CombinedOutput()
			if err != nil {
				errs[i] = fmt.Errorf("kubelite images on %s: %w: %s", h.Name, err, out)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.t.Fatal(err)
	}
}

// --- masters -------------------------------------------------------------------

func (c *tri) dataDir(h *lab.Host) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.data[h.Name]; d != "" {
		return d
	}
	return filepath.Join(c.lab.Config().Root, h.Name, "data")
}

func (c *tri) masterArgv(h *lab.Host, extra ...string) []string {
	return append([]string{c.bin, "master", "--config-dir=", "--etcd-embed",
		"--data-dir=" + c.dataDir(h),
		"--address=0.0.0.0", "--port=" + strconv.Itoa(apiPort),
		"--etcd-peer-addr=" + h.Addr.String() + ":7001",
		"--leader-lease=" + triLease.String(),
		"--node_monitor_grace_period=" + grace.String(),
		"--pod_eviction_timeout=" + eviction.String(),
	}, extra...)
}

// startMaster starts kubelite master on h with extra flags and waits for its API.
func (c *tri) startMaster(ctx context.Context, h *lab.Host, extra ...string) *lab.Process {
	c.t.Helper()
	p, err := c.lab.Start(h, "kubelite", c.masterArgv(h, extra...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.masters[h.Name] = p
	c.mu.Unlock()
	return p
}

func (c *tri) master(h *lab.Host) *lab.Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.masters[h.Name]
}

// waitMaster waits until h's API answers /healthz (or its process exits).
func (c *tri) waitMaster(ctx context.Context, h *lab.Host, timeout time.Duration) {
	c.t.Helper()
	p := c.master(h)
	err := poll(ctx, timeout, func() (bool, string) {
		if done, err := p.Exited(); done {
			return false, fmt.Sprintf("%s exited (%v): %s", h.Name, err, strings.Join(p.Tail(8), " | "))
		}
		if c.hc == nil {
			return true, ""
		}
		if err := c.healthz(ctx, h); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	if err != nil {
		c.t.Fatalf("master %s: %v", h.Name, err)
	}
}

func (c *tri) apiOf(h *lab.Host) string { return fmt.Sprintf("https://%s:%d", h.Addr, apiPort) }

func (c *tri) healthz(ctx context.Context, h *lab.Host) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.apiOf(h)+"/healthz", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s healthz: %s", h.Name, resp.Status)
	}
	return nil
}

// kubelite runs `kubelite args...` on host h and fails the test if it fails.
func (c *tri) kubelite(ctx context.Context, h *lab.Host, args ...string) string {
	c.t.Helper()
	out, err := c.lab.Exec(ctx, h, append([]string{c.bin}, args...)...)
	if err != nil {
		c.t.Fatalf("kubelite %s on %s: %v", strings.Join(args, " "), h.Name, err)
	}
	return string(out)
}

// members is `kubelite etcd members` as run on master h.
type members struct {
	healthy   []string // member names
	unhealthy []string
	etcdLead  *lab.Host // the master whose member is marked *
	leader    string    // the host name of the master running the controllers ("" none)
	raw       string
}

func (c *tri) members(ctx context.Context, h *lab.Host) (members, error) {
	ctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	out, err := c.lab.Exec(ctx, h, c.bin, "etcd", "members", "--data-dir="+c.dataDir(h), "--timeout=5s")
	m := members{raw: string(out)}
	if err != nil {
		return m, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if rest, ok := strings.CutPrefix(line, "scheduler and controllers run on: "); ok {
			if f := strings.Fields(rest); len(f) > 0 && f[0] != "none" && f[0] != "unknown" {
				m.leader = f[0]
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || f[0] == "NAME" {
			continue
		}
		name := f[0]
		if f[1] == "*" {
			// Known by its peer URL: the founding master's member is
			// named "kubelite", the joined ones <hostname>-<peer port>.
			for _, h := range c.lab.Masters() {
				if strings.Contains(line, "https://"+h.Addr.String()+":7001") {
					m.etcdLead = h
				}
			}
		}
		if strings.Contains(line, "unhealthy") {
			m.unhealthy = append(m.unhealthy, name)
		} else if strings.HasSuffix(line, "healthy") {
			m.healthy = append(m.healthy, name)
		}
	}
	return m, nil
}

// hostByName maps a host name (a leader identity's first field, or an etcd
// member name <hostname>-7001) to its lab host.
func (c *tri) hostByName(name string) *lab.Host {
	for _, h := range c.lab.Masters() {
		if name == h.Hostname || name == h.Hostname+"-7001" {
			return h
		}
	}
	return nil
}

// waitMembers waits until master h sees want healthy members and a leader.
func (c *tri) waitMembers(ctx context.Context, h *lab.Host, want int, timeout time.Duration) members {
	c.t.Helper()
	var m members
	err := poll(ctx, timeout, func() (bool, string) {
		var err error
		m, err = c.members(ctx, h)
		if err != nil {
			return false, err.Error()
		}
		return len(m.healthy) == want && len(m.unhealthy) == 0 && m.etcdLead != nil && c.hostByName(m.leader) != nil, m.raw
	})
	if err != nil {
		c.t.Fatalf("etcd members on %s: %v", h.Name, err)
	}
	return m
}

// --- the API ---------------------------------------------------------------------

// do sends one request to master h; it returns the status and body.
func (c *tri) do(ctx context.Context, h *lab.Host, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.apiOf(h)+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func nsPath(res, id string) string {
	p := "/api/v1beta1/" + res
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	return p + "?namespace=" + api.DefaultNamespace
}

func (c *tri) list(ctx context.Context, h *lab.Host, res string, q url.Values, out any) error {
	path := "/api/v1beta1/" + res + "?namespace=" + api.DefaultNamespace
	if len(q) > 0 {
		path += "&" + q.Encode()
	}
	code, b, err := c.do(ctx, h, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("list %s on %s: %d: %s", res, h.Name, code, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

// create POSTs obj to master h and fails the test unless it is created.
func (c *tri) create(ctx context.Context, h *lab.Host, res string, obj any) {
	c.t.Helper()
	code, b, err := c.do(ctx, h, http.MethodPost, nsPath(res, ""), obj)
	if err != nil || code >= 300 {
		c.t.Fatalf("create %s on %s: %d %v: %s", res, h.Name, code, err, bytes.TrimSpace(b))
	}
}

func (c *tri) pods(ctx context.Context, h *lab.Host, selector string) ([]api.Pod, error) {
	var l api.PodList
	if err := c.list(ctx, h, "pods", url.Values{"labels": {selector}}, &l); err != nil {
		return nil, err
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].ID < l.Items[j].ID })
	return l.Items, nil
}

// runningContainers lists the running kubelite containers' ids on every minion.
func (c *tri) runningContainers(ctx context.Context) (map[string]string, error) {
	ids := map[string]string{}
	for _, h := range c.lab.Minions() {
		out, err := c.lab.Docker(ctx, h, "ps", "-q", "--no-trunc", "--filter", "label="+runtime.LabelManaged+"=true")
		if err != nil {
			return nil, err
		}
		for _, id := range strings.Fields(string(out)) {
			ids[id] = h.Name
		}
	}
	return ids, nil
}

// --- a. join -----------------------------------------------------------------------

// minionMaster is the master the test asks about the minions and pods:
// one that does not lead the controllers when the minions start.
// minionMasters is the minions' --master list: every master, the one
// leading the controllers first, so that step c kills the minions' first
// master and they must fail over to keep working.
var (
	minionMaster  *lab.Host
	minionMasters []*lab.Host
)

func (c *tri) stepJoin(ctx context.Context) {
	m1, m2, m3 := c.lab.MasterN(1), c.lab.MasterN(2), c.lab.MasterN(3)
	c.startMaster(ctx, m1)
	// The README's steps: the first master makes the identity; the admin's
	// kubeconfig, the minions' join token and the master token come from it.
	var tok string
	err := poll(ctx, time.Minute, func() (bool, string) {
		if done, err := c.master(m1).Exited(); done {
			return false, fmt.Sprintf("master1 exited (%v): %s", err, strings.Join(c.master(m1).Tail(8), " | "))
		}
		var err error
		tok, err = securetest.Token(ctx, c.bin, c.dataDir(m1))
		return err == nil, fmt.Sprint(err)
	})
	if err != nil {
		c.t.Fatalf("master1's join token: %v", err)
	}
	mtok := strings.TrimSpace(c.kubelite(ctx, m1, "token", "--master", "--data-dir="+c.dataDir(m1)))
	if !strings.HasPrefix(mtok, "K10") || mtok == tok {
		c.t.Fatalf("kubelite token --master printed %q (join token %q)", mtok, tok)
	}
	kc, err := securetest.Kubeconfig(ctx, c.bin, c.dataDir(m1), c.apiOf(m1))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(c.kubeconfig, kc, 0o600); err != nil {
		c.t.Fatal(err)
	}
	ep, err := securetest.FromKubeconfig(c.kubeconfig)
	if err != nil {
		c.t.Fatal(err)
	}
	c.hc = securetest.Client(ep, 10*time.Second)
	c.waitMaster(ctx, m1, time.Minute)
	c.logf("master1 up")
	for _, h := range []*lab.Host{m2, m3} {
		js := time.Now()
		c.startMaster(ctx, h, "--join="+m1.Addr.String()+":"+strconv.Itoa(apiPort), "--token="+mtok)
		c.waitMaster(ctx, h, time.Minute)
		c.logf("%s joined and serves in %.1fs", h.Name, time.Since(js).Seconds())
	}
	m := c.waitMembers(ctx, m1, 3, 30*time.Second)
	c.logf("$ kubelite etcd members\n%s", m.raw)
	// The same on every master, and the join token works against any.
	for _, h := range []*lab.Host{m2, m3} {
		mm := c.waitMembers(ctx, h, 3, 10*time.Second)
		if mm.leader != m.leader && c.hostByName(mm.leader) == nil {
			c.t.Fatalf("%s names leader %q, master1 %q", h.Name, mm.leader, m.leader)
		}
	}
	// etcd's raft leadership moves off the controllers' master.
	if err := poll(ctx, 20*time.Second, func() (bool, string) {
		var err error
		m, err = c.members(ctx, m1)
		if err != nil {
			return false, err.Error()
		}
		return m.etcdLead != nil && m.etcdLead != c.hostByName(m.leader), m.raw
	}); err != nil {
		c.t.Fatalf("etcd's leader apart from the controllers' leader: %v", err)
	}
	c.logf("$ kubelite etcd members\n%s", m.raw)
	// Minions join with the join token and the list of masters.
	lead := c.hostByName(m.leader)
	minionMasters = append([]*lab.Host{lead}, c.others(lead)...)
	minionMaster = c.others(lead)[0]
	for _, h := range c.lab.Minions() {
		dir := filepath.Join(c.lab.Config().Root, h.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			c.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "token"), []byte(tok+"\n"), 0o600); err != nil {
			c.t.Fatal(err)
		}
		p, err := c.lab.Start(h, "kubelite", c.minionArgv(h)...)
		if err != nil {
			c.t.Fatal(err)
		}
		c.mu.Lock()
		c.minions[h.Name] = p
		c.mu.Unlock()
	}
	c.waitMinionsReady(ctx, time.Minute)
	fmt.Printf("MASTERS members: 3 healthy, etcd leader on %s, controllers on %s; minions' first master %s\n", m.etcdLead.Name, m.leader, minionMasters[0].Name)
}

func (c *tri) minionArgv(h *lab.Host) []string {
	dir := filepath.Join(c.lab.Config().Root, h.Name)
	var list []string
	for _, m := range minionMasters {
		list = append(list, fmt.Sprintf("%s:%d", m.Addr, apiPort))
	}
	return []string{c.bin, "minion", "--config-dir=",
		"--master=" + strings.Join(list, ","),
		"--token-file=" + filepath.Join(dir, "token"),
		"--hostname_override=" + h.Addr.String(),
		"--host-ip=" + h.Addr.String(),
		"--docker-endpoint=" + h.Engine.DockerHost(),
		"--root-dir=" + filepath.Join(dir, "kubelet"),
	}
}

func (c *tri) readyMinions(ctx context.Context, h *lab.Host) (ready, notReady []string, err error) {
	var l api.MinionList
	code, b, err := c.do(ctx, h, http.MethodGet, "/api/v1beta1/minions", nil)
	if err != nil {
		return nil, nil, err
	}
	if code != http.StatusOK {
		return nil, nil, fmt.Errorf("minions: %d: %s", code, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, nil, err
	}
	for _, m := range l.Items {
		if m.Status.Condition == api.MinionReady {
			ready = append(ready, m.ID)
		} else {
			notReady = append(notReady, m.ID+"="+string(m.Status.Condition))
		}
	}
	sort.Strings(ready)
	return ready, notReady, nil
}

func (c *tri) waitMinionsReady(ctx context.Context, timeout time.Duration) {
	c.t.Helper()
	err := poll(ctx, timeout, func() (bool, string) {
		r, nr, err := c.readyMinions(ctx, minionMaster)
		if err != nil {
			return false, err.Error()
		}
		return len(r) == len(c.lab.Minions()), fmt.Sprintf("ready %v, not %v", r, nr)
	})
	if err != nil {
		c.t.Fatalf("minions ready: %v", err)
	}
}

// --- b. portal IPs -------------------------------------------------------------------

const nServices = 100

func (c *tri) stepPortalIPs(ctx context.Context) {
	ms := c.lab.Masters()
	var wg sync.WaitGroup
	errs := make([]error, nServices)
	sem := make(chan struct{}, 20)
	for i := range nServices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			h := ms[i%len(ms)]
			code, b, err := c.do(ctx, h, http.MethodPost, nsPath("services", ""), serviceObject(fmt.Sprintf("svc%03d", i), 8000+i, "none"))
			if err == nil && code >= 300 {
				err = fmt.Errorf("%d: %s", code, bytes.TrimSpace(b))
			}
			if err != nil {
				errs[i] = fmt.Errorf("service svc%03d on %s: %w", i, h.Name, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.t.Fatal(err)
	}
	var l api.ServiceList
	if err := c.list(ctx, ms[2], "services", nil, &l); err != nil {
		c.t.Fatal(err)
	}
	ips := map[string][]string{}
	n := 0
	for _, s := range l.Items {
		if strings.HasPrefix(s.ID, "svc") {
			n++
			ips[s.PortalIP] = append(ips[s.PortalIP], s.ID)
		}
	}
	for ip, ids := range ips {
		if ip == "" || len(ids) > 1 {
			c.t.Errorf("portal IP %q held by %v", ip, ids)
		}
	}
	if n != nServices || len(ips) != nServices {
		c.t.Fatalf("%d services with %d distinct portal IPs, want %d", n, len(ips), nServices)
	}
	fmt.Printf("MASTERS portal IPs: %d services created concurrently across 3 masters, %d distinct portal IPs\n", n, len(ips))
}

// --- c. leader kill --------------------------------------------------------------------

const rcID = "tri"

// rcReplicas is the RC's count: 4, then 5 once step c resized it.
var rcReplicas = 4

// leaderOf returns the host leading the controllers as master h sees it.
func (c *tri) leaderOf(ctx context.Context, h *lab.Host) *lab.Host {
	m, err := c.members(ctx, h)
	if err != nil {
		return nil
	}
	return c.hostByName(m.leader)
}

func (c *tri) others(not ...*lab.Host) []*lab.Host {
	var out []*lab.Host
	for _, h := range c.lab.Masters() {
		skip := false
		for _, n := range not {
			skip = skip || h == n
		}
		if !skip {
			out = append(out, h)
		}
	}
	return out
}

// waitRC waits until the RC's pods are exactly n, all Running, and stay so
// for settle (no duplicate appears); it returns them.
func (c *tri) waitRC(ctx context.Context, h *lab.Host, n int, timeout, settle time.Duration) []api.Pod {
	c.t.Helper()
	var ps []api.Pod
	var since time.Time
	err := poll(ctx, timeout+settle, func() (bool, string) {
		var err error
		ps, err = c.pods(ctx, h, "name="+rcID)
		if err != nil {
			since = time.Time{}
			return false, err.Error()
		}
		ok := len(ps) == n
		for _, p := range ps {
			ok = ok && running(p)
		}
		if !ok {
			if !since.IsZero() {
				c.logf("pods changed after %d Running: %s", n, podSummary(ps))
			}
			since = time.Time{}
			return false, podSummary(ps)
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= settle, podSummary(ps)
	})
	if err != nil {
		c.t.Fatalf("rc %s on %s: want %d Running pods, no more: %v", rcID, h.Name, n, err)
	}
	return ps
}

func (c *tri) stepLeaderKill(ctx context.Context) {
	rcReplicas = 4
	c.create(ctx, minionMaster, "replicationControllers", rcObject(rcID, rcReplicas, "kubelite/webserver:v1", 0))
	ps := c.waitRC(ctx, minionMaster, rcReplicas, 90*time.Second, 2*time.Second)
	lead := c.leaderOf(ctx, minionMaster)
	if lead == nil || lead == minionMaster {
		c.t.Fatalf("leader %v: want a master other than %s", lead, minionMaster.Name)
	}
	if lead != minionMasters[0] {
		c.logf("the controllers moved to %s since the minions started (their first master is %s)", lead.Name, minionMasters[0].Name)
	}
	survivors := c.others(lead)
	killed := time.Now()
	if err := c.master(lead).Kill(); err != nil {
		c.t.Fatal(err)
	}
	c.logf("kill -9 %s (the leader)", lead.Name)
	// A pod deleted after the kill is replaced.
	// While etcd elects a new leader too (it often ran on the same master)
	// a write may answer 503 "retry later": retry, as a client does.
	victim := ps[0].ID
	err := poll(ctx, 20*time.Second, func() (bool, string) {
		code, b, err := c.do(ctx, minionMaster, http.MethodDelete, nsPath("pods", victim), nil)
		return err == nil && code < 300, fmt.Sprintf("delete pod %s: %d %v %s", victim, code, err, firstLine(b))
	})
	if err != nil {
		c.t.Fatal(err)
	}
	deleted := time.Now()
	// And the RC is scaled with kubectl, whose kubeconfig lists every
	// master, the killed one first: kubectl fails over.
	kc := filepath.Join(c.lab.Config().Root, "masters.kubeconfig")
	var servers []string
	for _, h := range append([]*lab.Host{lead}, survivors...) {
		servers = append(servers, c.apiOf(h))
	}
	b, err := securetest.Kubeconfig(ctx, c.bin, c.dataDir(minionMaster), strings.Join(servers, ","))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(kc, b, 0o600); err != nil {
		c.t.Fatal(err)
	}
	out, err := c.lab.Exec(ctx, minionMaster, c.bin, "kubectl", "--kubeconfig", kc, "resize", rcID, strconv.Itoa(rcReplicas+1))
	if err != nil {
		c.t.Fatalf("kubectl resize with %s down (servers %v): %v", lead.Name, servers, err)
	}
	rcReplicas++
	c.logf("$ kubectl resize %s %d (the first server killed)\n%s", rcID, rcReplicas, out)
	var took time.Duration
	var newLead *lab.Host
	err = poll(ctx, triLease+5*time.Second, func() (bool, string) {
		for _, h := range survivors {
			if l := c.leaderOf(ctx, h); l != nil && l != lead {
				newLead, took = l, time.Since(killed)
				return true, ""
			}
		}
		return false, "no new leader"
	})
	if err != nil {
		c.t.Fatalf("new leader after killing %s: %v", lead.Name, err)
	}
	// Polling etcd members is coarse: the new leader's log says when.
	if at, ok := becameLeader(c.master(newLead).Tail(2000), killed); ok {
		took = at.Sub(killed)
	}
	// The replacement: the new count of pods without the victim, all Running.
	var replaced time.Duration
	err = poll(ctx, 60*time.Second, func() (bool, string) {
		ps, err := c.pods(ctx, minionMaster, "name="+rcID)
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, p := range ps {
			if p.ID == victim {
				return false, "victim still listed: " + podSummary(ps)
			}
			if running(p) {
				n++
			}
		}
		if n == rcReplicas && len(ps) == rcReplicas {
			replaced = time.Since(killed)
			return true, ""
		}
		return false, podSummary(ps)
	})
	if err != nil {
		c.t.Fatalf("replacement of %s: %v", victim, err)
	}
	// The minions kept working without their first master.
	if r, nr, err := c.readyMinions(ctx, minionMaster); err != nil || len(nr) > 0 || len(r) != len(c.lab.Minions()) {
		c.t.Fatalf("minions after %s was killed: ready %v, not %v (%v)", lead.Name, r, nr, err)
	}
	fmt.Printf("MASTERS takeover: %s killed (the minions' and kubectl's first master: %v), %s leads after %.2fs (lease %s, bound %s); pod deleted %.2fs after the kill, RC resized to %d by kubectl, all Running (the deleted pod replaced) %.2fs after the kill\n",
		lead.Name, lead == minionMasters[0], newLead.Name, took.Seconds(), triLease, triLease+2*time.Second, deleted.Sub(killed).Seconds(), rcReplicas, replaced.Seconds())
	if took > triLease+2*time.Second {
		c.t.Errorf("takeover took %s, want at most lease + 2s = %s", took, triLease+2*time.Second)
	}
	c.waitRC(ctx, minionMaster, rcReplicas, 30*time.Second, 5*time.Second)
	// The killed master restarts and rejoins as a follower.
	if err := c.master(lead).Restart(); err != nil {
		c.t.Fatal(err)
	}
	c.waitMaster(ctx, lead, time.Minute)
	m := c.waitMembers(ctx, lead, 3, 30*time.Second)
	if c.hostByName(m.leader) != newLead {
		c.t.Fatalf("after %s restarted the controllers run on %q, want %s still", lead.Name, m.leader, newLead.Name)
	}
	c.logf("%s back as a follower; controllers on %s", lead.Name, newLead.Name)
	c.waitRC(ctx, minionMaster, rcReplicas, 30*time.Second, 3*time.Second)
}

// --- d. quorum loss ----------------------------------------------------------------------

func (c *tri) stepQuorumLoss(ctx context.Context) {
	survivor := minionMaster
	before, err := c.runningContainers(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	podsBefore := names(c.waitRC(ctx, survivor, rcReplicas, 30*time.Second, 0))
	down := c.others(survivor)
	for _, h := range down {
		if err := c.master(h).Stop(30 * time.Second); err != nil {
			c.t.Fatal(err)
		}
	}
	stopped := time.Now()
	c.logf("stopped %s and %s", down[0].Name, down[1].Name)
	// The survivor answers a write with 503 naming the lost quorum.
	wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	ws := time.Now()
	code, b, err := c.do(wctx, survivor, http.MethodPost, nsPath("services", ""), serviceObject("quorum", 9999, "none"))
	took := time.Since(ws)
	cancel()
	fmt.Printf("MASTERS quorum loss: a write to %s answered %d in %.2fs (sent %.2fs after 2 of 3 masters stopped): %s\n",
		survivor.Name, code, took.Seconds(), ws.Sub(stopped).Seconds(), firstLine(b))
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(string(b), "quorum") {
		c.t.Fatalf("write without quorum: %d %v %s; want 503 naming the lost quorum", code, err, b)
	}
	if took > 5*time.Second {
		c.t.Errorf("503 after %s, want within 5s", took)
	}
	// Away for longer than the grace period, as a real outage is.
	hold := grace + 3*time.Second
	if d := hold - time.Since(stopped); d > 0 {
		select {
		case <-ctx.Done():
			c.t.Fatal(ctx.Err())
		case <-time.After(d):
		}
	}
	for _, h := range down {
		if err := c.master(h).Restart(); err != nil {
			c.t.Fatal(err)
		}
	}
	back := time.Now()
	for _, h := range down {
		c.waitMaster(ctx, h, time.Minute)
	}
	c.logf("masters back after %.1fs away", back.Sub(stopped).Seconds())
	// For a grace period and more after the masters return no minion is
	// marked NotReady and no pod is evicted or replaced.
	watchUntil := time.Now().Add(grace + 5*time.Second)
	for time.Now().Before(watchUntil) {
		r, nr, err := c.readyMinions(ctx, survivor)
		if err == nil && len(nr) > 0 {
			c.t.Fatalf("%.1fs after the masters returned: minions %v not Ready (ready %v)", time.Since(back).Seconds(), nr, r)
		}
		select {
		case <-ctx.Done():
			c.t.Fatal(ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	ps := c.waitRC(ctx, survivor, rcReplicas, 30*time.Second, 3*time.Second)
	if got := names(ps); strings.Join(got, ",") != strings.Join(podsBefore, ",") {
		c.t.Fatalf("pods changed across the quorum loss: %v, before %v", got, podsBefore)
	}
	after, err := c.runningContainers(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	for id, h := range before {
		if _, ok := after[id]; !ok {
			c.t.Errorf("container %.12s on %s stopped while the masters were away", id, h)
		}
	}
	c.waitMembers(ctx, survivor, 3, 30*time.Second)
	fmt.Printf("MASTERS quorum back: %d containers kept running, minions stayed Ready for %s after the masters returned, the same %d pods\n", len(before), grace+5*time.Second, rcReplicas)
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// --- e. snapshot, restore, remove, rejoin --------------------------------------------------

func (c *tri) stepRestore(ctx context.Context) {
	m1, m2, m3 := c.lab.MasterN(1), c.lab.MasterN(2), c.lab.MasterN(3)
	var before api.ServiceList
	if err := c.list(ctx, m1, "services", nil, &before); err != nil {
		c.t.Fatal(err)
	}
	// Remove a member for good, wipe it, join it again.
	if err := c.master(m3).Stop(30 * time.Second); err != nil {
		c.t.Fatal(err)
	}
	// etcd members shows it down.
	if err := poll(ctx, 15*time.Second, func() (bool, string) {
		m, err := c.members(ctx, m1)
		if err != nil {
			return false, err.Error()
		}
		return len(m.unhealthy) == 1 && m.unhealthy[0] == m3.Hostname+"-7001" && len(m.healthy) == 2, m.raw
	}); err != nil {
		c.t.Fatalf("etcd members with master3 stopped: %v", err)
	}
	out := c.kubelite(ctx, m1, "etcd", "remove", "--data-dir="+c.dataDir(m1), m3.Hostname+"-7001")
	c.logf("$ kubelite etcd remove %s-7001\n%s", m3.Hostname, out)
	c.waitMembers(ctx, m1, 2, 30*time.Second)
	if err := os.RemoveAll(c.dataDir(m3)); err != nil {
		c.t.Fatal(err)
	}
	mtok := strings.TrimSpace(c.kubelite(ctx, m1, "token", "--master", "--data-dir="+c.dataDir(m1)))
	p, err := c.lab.Start(m3, "kubelite", c.masterArgv(m3, "--join="+m1.Addr.String()+":"+strconv.Itoa(apiPort), "--token="+mtok)...)
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.masters[m3.Name] = p
	c.mu.Unlock()
	c.waitMaster(ctx, m3, time.Minute)
	c.waitMembers(ctx, m1, 3, 30*time.Second)
	c.logf("master3 removed, wiped and joined again")

	// Snapshot, then bring the cluster back from it on a new data dir.
	snap := filepath.Join(c.lab.Config().Root, "snapshot.db")
	out = c.kubelite(ctx, m2, "etcd", "snapshot", "save", "--data-dir="+c.dataDir(m2), snap)
	c.logf("$ kubelite etcd snapshot save\n%s", out)
	for _, h := range c.lab.Masters() {
		if err := c.master(h).Stop(30 * time.Second); err != nil {
			c.t.Fatal(err)
		}
	}
	old := c.dataDir(m1)
	fresh := filepath.Join(c.lab.Config().Root, "master1", "restored")
	if err := os.MkdirAll(fresh, 0o700); err != nil {
		c.t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "cp", "-a", filepath.Join(old, "pki"), fresh+"/").CombinedOutput(); err != nil {
		c.t.Fatalf("copy pki: %v: %s", err, out)
	}
	if err := os.RemoveAll(old); err != nil { // the wiped data dir
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.data[m1.Name] = fresh
	c.mu.Unlock()
	c.startMaster(ctx, m1, "--restore="+snap)
	c.waitMaster(ctx, m1, time.Minute)
	var after api.ServiceList
	if err := poll(ctx, 30*time.Second, func() (bool, string) {
		if err := c.list(ctx, m1, "services", nil, &after); err != nil {
			return false, err.Error()
		}
		return len(after.Items) == len(before.Items), fmt.Sprintf("%d services, want %d", len(after.Items), len(before.Items))
	}); err != nil {
		c.t.Fatalf("restored services: %v", err)
	}
	want := map[string]string{}
	for _, s := range before.Items {
		want[s.ID] = s.PortalIP
	}
	for _, s := range after.Items {
		if ip, ok := want[s.ID]; !ok || ip != s.PortalIP {
			c.t.Errorf("restored service %s portal %s, before %q (listed %v)", s.ID, s.PortalIP, ip, ok)
		}
	}
	var rcs api.ReplicationControllerList
	if err := c.list(ctx, m1, "replicationControllers", nil, &rcs); err != nil {
		c.t.Fatal(err)
	}
	found := false
	for _, rc := range rcs.Items {
		found = found || (rc.ID == rcID && rc.DesiredState.Replicas == rcReplicas)
	}
	if !found {
		c.t.Fatalf("restored replication controllers: no %s of %d among %d", rcID, rcReplicas, len(rcs.Items))
	}
	// The others join the restored cluster with wiped data dirs.
	mtok = strings.TrimSpace(c.kubelite(ctx, m1, "token", "--master", "--data-dir="+fresh))
	for _, h := range []*lab.Host{m2, m3} {
		if err := os.RemoveAll(c.dataDir(h)); err != nil {
			c.t.Fatal(err)
		}
		c.startMaster(ctx, h, "--join="+m1.Addr.String()+":"+strconv.Itoa(apiPort), "--token="+mtok)
		c.waitMaster(ctx, h, time.Minute)
	}
	m := c.waitMembers(ctx, m1, 3, 30*time.Second)
	var l2 api.ServiceList
	if err := c.list(ctx, m3, "services", nil, &l2); err != nil || len(l2.Items) != len(before.Items) {
		c.t.Fatalf("services on the rejoined master3: %d (%v), want %d", len(l2.Items), err, len(before.Items))
	}
	fmt.Printf("MASTERS restore: %d services and the RC back from the snapshot on a new data dir; master3 removed, wiped, rejoined; 3 members again (controllers on %s)\n", len(after.Items), m.leader)
}

var logTime = regexp.MustCompile(`time="([^"]+)"`)

// becameLeader finds the first "became leader" line of a master's log after
// since and returns its time (the log's times are UTC, to the millisecond;
// with or without the date).
func becameLeader(lines []string, since time.Time) (time.Time, bool) {
	for _, line := range lines {
		if !strings.Contains(line, "became leader") {
			continue
		}
		m := logTime.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			clock, err2 := time.Parse("15:04:05.000", m[1])
			if err2 != nil {
				continue
			}
			y, mo, d := since.UTC().Date()
			at = time.Date(y, mo, d, clock.Hour(), clock.Minute(), clock.Second(), clock.Nanosecond(), time.UTC)
		}
		// The log's milliseconds: allow for the truncation.
		if at.After(since.Add(-time.Millisecond)) {
			return at, true
		}
	}
	return time.Time{}, false
}
