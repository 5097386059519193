package securetest

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/join"
	"kubelite/internal/testutil"
)

// TestSecureDefault is issue 11's "Done means" on real listeners: one
// secure master, minions joining it with the token, and what anonymous
// callers, plain HTTP and a minion's credential may and may not do.
func TestSecureDefault(t *testing.T) {
	m := startMaster(t, false)
	tok := m.token(t)
	pods := m.url + "/api/v1beta1/pods?namespace=default"

	t.Run("anonymous-401-api", func(t *testing.T) {
		expect(t, m.adminHC, "POST", pods, podObject("secret-pod", ""), http.StatusCreated)
		for _, u := range []string{pods, m.url + "/api/v1beta1/minions", m.url + "/api/v1beta1/watch/pods", m.url + "/validate", m.url + "/api"} {
			body := expect(t, m.anonHC, "GET", u, nil, http.StatusUnauthorized)
			if strings.Contains(body, "secret-pod") || strings.Contains(body, "items") {
				t.Errorf("anonymous GET %s: 401 with data: %.300s", u, body)
			}
		}
		expect(t, m.anonHC, "POST", pods, podObject("anon-pod", ""), http.StatusUnauthorized)
		expect(t, m.anonHC, "DELETE", m.url+"/api/v1beta1/pods/secret-pod?namespace=default", nil, http.StatusUnauthorized)
		// A wrong token is a 401 too, never anonymous.
		wrong := m.anon
		wrong.Token = "not-the-admin-token"
		expect(t, Client(wrong, 10*time.Second), "GET", pods, nil, http.StatusUnauthorized)
		// What answers anyone, as in Kubernetes.
		for _, p := range []string{"/healthz", "/livez", "/readyz", "/version"} {
			check(t, m.anonHC, "GET", m.url+p, nil, http.StatusOK)
		}
		expect(t, m.adminHC, "DELETE", m.url+"/api/v1beta1/pods/secret-pod?namespace=default", nil, http.StatusOK)
	})

	t.Run("loopback-plain-http", func(t *testing.T) {
		expect(t, m.adminHC, "POST", pods, podObject("plain-read", ""), http.StatusCreated)
		plainPods := m.plain + "/api/v1beta1/pods?namespace=default"
		expect(t, m.plainHC, "GET", plainPods, nil, http.StatusOK, `"plain-read"`)
		expect(t, m.plainHC, "GET", m.plain+"/api/v1beta1/pods/plain-read?namespace=default", nil, http.StatusOK, `"plain-read"`)
		// A watch is a read: its header is enough.
		resp, err := m.plainHC.Get(m.plain + "/api/v1beta1/watch/pods?namespace=default")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("plain watch from loopback: %s, want 200", resp.Status)
		}
		for _, w := range []struct {
			method, url string
			body        any
		}{
			{"POST", plainPods, podObject("plain-write", "")},
			{"PUT", m.plain + "/api/v1beta1/pods/plain-read?namespace=default", podObject("plain-read", "")},
			{"DELETE", m.plain + "/api/v1beta1/pods/plain-read?namespace=default", nil},
		} {
			expect(t, m.plainHC, w.method, w.url, w.body, http.StatusForbidden, "https://", "token")
		}
		var p api.Pod
		if err := getJSON(m.adminHC, m.url+"/api/v1beta1/pods/plain-read?namespace=default", &p); err != nil {
			t.Fatalf("after refused plain writes: %v", err)
		}
		if err := getJSON(m.adminHC, m.url+"/api/v1beta1/pods/plain-write?namespace=default", &p); err == nil {
			t.Errorf("a plain POST created pod plain-write")
		}
		expect(t, m.adminHC, "DELETE", m.url+"/api/v1beta1/pods/plain-read?namespace=default", nil, http.StatusOK)
	})

	t.Run("no-token", func(t *testing.T) {
		n := m.startMinion(t, "no-token", "--master=127.0.0.1:"+strconv.Itoa(m.port))
		if code := n.waitExit(t, 30*time.Second); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		oneLine(t, "minion without a token", n.log.String(), "no join token", "kubelite token", "--token", "KUBELITE_TOKEN", "--token-file")
	})

	t.Run("wrong-pin-refused", func(t *testing.T) {
		// The same secret, another CA's hash: the minion must refuse the
		// master before sending anything.
		hash, secret, _ := strings.Cut(strings.TrimPrefix(tok, "K10"), "::")
		flip := "0"
		if hash[0] == '0' {
			flip = "1"
		}
		bad := "K10" + flip + hash[1:] + "::" + secret
		n := m.startMinion(t, "wrong-pin", "--master=127.0.0.1:"+strconv.Itoa(m.port), "--token="+bad)
		if code := n.waitExit(t, 30*time.Second); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		oneLine(t, "wrong pin", n.log.String(), "the token pins", "nothing was sent")
		if strings.Contains(n.log.String(), secret) {
			t.Errorf("the refusal prints the secret: %s", n.log.String())
		}
		expect(t, m.adminHC, "GET", m.url+"/api/v1beta1/minions/wrong-pin", nil, http.StatusNotFound)
		if _, err := os.Stat(filepath.Join(n.rootDir, "pki", join.CertFile)); err == nil {
			t.Errorf("a refused minion holds a certificate")
		}
		// A malformed token: the same, one line, nothing registered.
		n = m.startMinion(t, "bad-token", "--master=127.0.0.1:"+strconv.Itoa(m.port), "--token=K10nothex::x")
		if code := n.waitExit(t, 30*time.Second); code != 1 {
			t.Errorf("malformed token: exit %d, want 1", code)
		}
		oneLine(t, "malformed token", n.log.String(), "token")
		expect(t, m.adminHC, "GET", m.url+"/api/v1beta1/minions/bad-token", nil, http.StatusNotFound)
	})

	// Two minions join; the first one's join is timed from process start.
	// Its kubelet listens on port 10250 of a loopback address of its own:
	// the API's proxy reaches no other port on a loopback address.
	m1 := m.startMinionAt(t, "m1", loopbackAddr(), 10250, "--master=127.0.0.1:"+strconv.Itoa(m.port), "--token="+tok)
	joinTime := m.ready(t, m1)
	t.Logf("minion join: process start to Ready %s (first join: CA fetch and pin, CSR, certificate, register)", joinTime.Round(time.Millisecond))
	// The second one reads the token from its file, as /etc/kubernetes/token.
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m2 := m.startMinion(t, "m2", "--master=127.0.0.1:"+strconv.Itoa(m.port), "--token-file="+tokenFile)
	t.Logf("minion join (token file): process start to Ready %s", m.ready(t, m2).Round(time.Millisecond))
	m1ep, err := MinionEndpoint(m.url, m1.rootDir)
	if err != nil {
		t.Fatal(err)
	}
	m1hc := Client(m1ep, 10*time.Second)
	m2ep, err := MinionEndpoint(m.url, m2.rootDir)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("kubelet-port", func(t *testing.T) {
		kubelet := fmt.Sprintf("https://%s:%d", m1.addr, m1.port)
		anon := kubeletClient()
		for _, p := range []string{"/podInfo?podID=x&podNamespace=default", "/stats/", "/containerLogs/default/x/web"} {
			expect(t, anon, "GET", kubelet+p, nil, http.StatusUnauthorized)
		}
		expect(t, anon, "GET", kubelet+"/healthz", nil, http.StatusOK, "ok")
		// Another minion's credential is not the master's.
		expect(t, kubeletClient(m2ep.TLS.Certificates...), "GET", kubelet+"/stats/", nil, http.StatusForbidden)
		// Plain HTTP on the kubelet port gets no answer from the kubelet.
		if code, body, err := call(&http.Client{Timeout: 5 * time.Second}, "GET", fmt.Sprintf("http://%s:%d/stats/", m1.addr, m1.port), nil); err == nil && code == http.StatusOK {
			t.Errorf("plain HTTP to the kubelet: %d %.200s", code, body)
		}
		// The master presents its own credential: the admin reaches the
		// kubelet through the API's proxy.
		expect(t, m.adminHC, "GET", m.url+"/api/v1beta1/proxy/minions/m1/stats/", nil, http.StatusOK)
	})

	t.Run("minion-credential", func(t *testing.T) {
		// May: read what a kubelet and proxy read.
		for _, res := range []string{"pods?namespace=default", "services?namespace=default", "endpoints?namespace=default", "minions", "minions/m2", "events?namespace=default"} {
			check(t, m1hc, "GET", m.url+"/api/v1beta1/"+res, nil, http.StatusOK)
		}
		// May not: create a pod, write another minion (or a new one), delete
		// itself, read replication controllers, proxy to a kubelet.
		check(t, m1hc, "POST", m.url+"/api/v1beta1/pods?namespace=default", podObject("by-minion", "m1"), http.StatusForbidden, "m1")
		var other api.Minion
		if err := getJSON(m.adminHC, m.url+"/api/v1beta1/minions/m2", &other); err != nil {
			t.Fatal(err)
		}
		other.Labels = map[string]string{"stolen": "true"}
		check(t, m1hc, "PUT", m.url+"/api/v1beta1/minions/m2", &other, http.StatusForbidden)
		other.ResourceVersion = 0
		other.ID = "m3"
		check(t, m1hc, "POST", m.url+"/api/v1beta1/minions", &other, http.StatusForbidden)
		check(t, m1hc, "DELETE", m.url+"/api/v1beta1/minions/m1", nil, http.StatusForbidden)
		check(t, m1hc, "GET", m.url+"/api/v1beta1/replicationControllers?namespace=default", nil, http.StatusForbidden)
		check(t, m1hc, "GET", m.url+"/api/v1beta1/proxy/minions/m2/stats/", nil, http.StatusForbidden)
		check(t, m1hc, "POST", m.url+"/api/v1beta1/bindings?namespace=default", map[string]any{"kind": "Binding", "apiVersion": "v1beta1", "podID": "x", "host": "m1"}, http.StatusForbidden)
		var m2now api.Minion
		if err := getJSON(m.adminHC, m.url+"/api/v1beta1/minions/m2", &m2now); err != nil || m2now.Labels["stolen"] != "" {
			t.Errorf("minion m2 after m1's refused write: labels %v (%v)", m2now.Labels, err)
		}
		check(t, m.adminHC, "GET", m.url+"/api/v1beta1/minions/m3", nil, http.StatusNotFound)

		// Pod status: its own pods' only.
		expect(t, m.adminHC, "POST", m.url+"/api/v1beta1/pods?namespace=default", podObject("on-m1", "m1"), http.StatusCreated)
		expect(t, m.adminHC, "POST", m.url+"/api/v1beta1/pods?namespace=default", podObject("on-m2", "m2"), http.StatusCreated)
		status := func(id string) *api.Pod {
			var p api.Pod
			if err := getJSON(m1hc, m.url+"/api/v1beta1/pods/"+id+"?namespace=default", &p); err != nil {
				t.Fatal(err)
			}
			p.ResourceVersion = 0 // unconditional: the kubelet writes too
			p.CurrentState.Message = "written by m1"
			return &p
		}
		check(t, m1hc, "PUT", m.url+"/api/v1beta1/pods/on-m2?namespace=default", status("on-m2"), http.StatusForbidden, `bound to \"m2\"`)
		check(t, m1hc, "PUT", m.url+"/api/v1beta1/pods/on-m1?namespace=default", status("on-m1"), http.StatusOK)
		// Only the status changes, whatever else the body says.
		p := status("on-m1")
		p.Labels = map[string]string{"name": "relabelled"}
		p.DesiredState.Host = "m2"
		check(t, m1hc, "PUT", m.url+"/api/v1beta1/pods/on-m1?namespace=default", p, http.StatusOK)
		var after api.Pod
		if err := getJSON(m.adminHC, m.url+"/api/v1beta1/pods/on-m1?namespace=default", &after); err != nil {
			t.Fatal(err)
		}
		if after.Labels["name"] != "on-m1" || after.DesiredState.Host != "m1" {
			t.Errorf("m1's status write changed the spec: labels %v host %q", after.Labels, after.DesiredState.Host)
		}
		// The status subresource (the kubelet's own writes): the same rule.
		check(t, m1hc, "PUT", m.url+"/api/v1beta1/pods/on-m2/status?namespace=default", status("on-m2"), http.StatusForbidden, `bound to \"m2\"`)
		p = status("on-m1")
		p.Labels = map[string]string{"name": "relabelled"}
		p.DesiredState.Host = "m2"
		p.CurrentState.Message = "through /status"
		check(t, m1hc, "PUT", m.url+"/api/v1beta1/pods/on-m1/status?namespace=default", p, http.StatusOK)
		if err := getJSON(m.adminHC, m.url+"/api/v1beta1/pods/on-m1?namespace=default", &after); err != nil {
			t.Fatal(err)
		}
		if after.Labels["name"] != "on-m1" || after.DesiredState.Host != "m1" || after.CurrentState.Message != "through /status" {
			t.Errorf("m1's write of /status: labels %v host %q message %q, want the spec unchanged and the message written", after.Labels, after.DesiredState.Host, after.CurrentState.Message)
		}
		var m2pod api.Pod
		if err := getJSON(m.adminHC, m.url+"/api/v1beta1/pods/on-m2?namespace=default", &m2pod); err != nil || m2pod.CurrentState.Message == "written by m1" {
			t.Errorf("on-m2 after m1's refused status write: message %q (%v)", m2pod.CurrentState.Message, err)
		}
		for _, id := range []string{"on-m1", "on-m2"} {
			expect(t, m.adminHC, "DELETE", m.url+"/api/v1beta1/pods/"+id+"?namespace=default", nil, http.StatusOK)
		}
	})

	t.Run("duplicate-name-refused", func(t *testing.T) {
		dup := m.startMinion(t, "m1", "--master=127.0.0.1:"+strconv.Itoa(m.port), "--token="+tok)
		if code := dup.waitExit(t, 30*time.Second); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		oneLine(t, "duplicate --hostname_override", dup.log.String(), "(409)", `minion "m1" is already held by another credential`, "joined from", "this request from", "--hostname_override")
		if _, err := os.Stat(filepath.Join(dup.rootDir, "pki", join.CertFile)); err == nil {
			t.Errorf("the refused minion holds a certificate")
		}
		// The first m1 still holds its name and stays Ready.
		m.ready(t, m1)
		if done, err := m1.exited(); done {
			t.Errorf("the first m1 exited (%v)", err)
		}
	})

	t.Run("admin-kubeconfig-kubelite-kubectl", func(t *testing.T) {
		out, err := exec.Command(m.bin, "kubectl", "--kubeconfig", m.kubecfg, "get", "minions").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "m1") || !strings.Contains(string(out), "m2") {
			t.Errorf("kubelite kubectl --kubeconfig: %v\n%s", err, out)
		}
		// -s on the kubeconfig's host and port: the tutorial's habit, with its credential.
		out, err = exec.Command(m.bin, "kubectl", "--kubeconfig", m.kubecfg, "-s", m.plain, "create", "-f", writeJSON(t, podObject("via-kubectl", ""))).CombinedOutput()
		if err != nil {
			t.Errorf("kubelite kubectl -s %s create: %v\n%s", m.plain, err, out)
		}
		// Without a credential, kubectl's write is refused with a message
		// naming https and the token.
		cmd := exec.Command(m.bin, "kubectl", "-s", m.plain, "delete", "pods", "via-kubectl")
		cmd.Env = append(os.Environ(), "KUBECONFIG=", "HOME="+t.TempDir())
		out, err = cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "https://") {
			t.Errorf("kubectl -s %s delete without a credential: %v\n%s", m.plain, err, out)
		}
	})

	t.Run("admin-kubeconfig-real-kubectl", func(t *testing.T) {
		for _, kubectl := range realKubectls(t) {
			t.Run(filepath.Base(kubectl), func(t *testing.T) {
				run := func(args ...string) string {
					cmd := exec.Command(kubectl, append([]string{"--kubeconfig", m.kubecfg}, args...)...)
					cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG=")
					out, err := cmd.CombinedOutput()
					if err != nil {
						t.Fatalf("%s %v: %v\n%s", kubectl, args, err, out)
					}
					return string(out)
				}
				if out := run("version"); !strings.Contains(out, "Server Version") {
					t.Errorf("kubectl version:\n%s", out)
				}
				var l api.PodList
				out := run("get", "--raw", "/api/v1beta1/pods")
				if err := json.Unmarshal([]byte(out), &l); err != nil || l.Kind != "PodList" {
					t.Errorf("kubectl get --raw /api/v1beta1/pods: %v\n%s", err, out)
				}
			})
		}
	})
}

// realKubectls are the oldest and the newest of the real kubectl binaries
// the machine image ships beside the kubectl dispatcher on PATH.
func realKubectls(t *testing.T) []string {
	t.Helper()
	return testutil.RealKubectls(t).OldestNewest()
}

func writeJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "obj.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestInsecureRestores2014 runs a master with --insecure: it warns, serves
// plain HTTP only, takes anonymous writes, and anonymous minions on
// --master=http://... whose kubelets serve anyone.
func TestInsecureRestores2014(t *testing.T) {
	m := startMaster(t, true)
	if log := m.log.String(); !strings.Contains(log, "level=warning") || !strings.Contains(log, "has no TLS and no authentication") {
		t.Errorf("no warning at the start of an --insecure master:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(m.dataDir, "admin.kubeconfig")); err == nil {
		t.Errorf("an --insecure master wrote an admin kubeconfig")
	}
	pods := m.plain + "/api/v1beta1/pods?namespace=default"
	expect(t, m.plainHC, "POST", pods, podObject("anon", ""), http.StatusCreated)
	expect(t, m.plainHC, "GET", pods, nil, http.StatusOK, `"anon"`)
	// No TLS on the port.
	tlsHC := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // probing for any TLS at all
	if code, _, err := call(tlsHC, "GET", fmt.Sprintf("https://127.0.0.1:%d/healthz", m.port), nil); err == nil {
		t.Errorf("an --insecure master answered https: %d", code)
	}
	// An anonymous minion: no token anywhere, plain HTTP to the master.
	n := m.startMinion(t, "anon-minion", "--master="+m.plain)
	t.Logf("anonymous minion: process start to Ready %s", m.ready(t, n).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(n.rootDir, "pki")); err == nil {
		t.Errorf("an anonymous minion made credentials under %s", n.rootDir)
	}
	// Its kubelet serves anyone, plain.
	kubelet := fmt.Sprintf("http://127.0.0.1:%d", n.port)
	expect(t, m.plainHC, "GET", kubelet+"/stats/", nil, http.StatusOK)
	expect(t, m.plainHC, "GET", kubelet+"/healthz", nil, http.StatusOK)
	// Anyone may write a minion, as in 2014.
	var mn api.Minion
	if err := getJSON(m.plainHC, m.plain+"/api/v1beta1/minions/anon-minion", &mn); err != nil {
		t.Fatal(err)
	}
	mn.Labels = map[string]string{"set": "anonymously"}
	mn.ResourceVersion = 0 // unconditional: its kubelet writes it too
	expect(t, m.plainHC, "PUT", m.plain+"/api/v1beta1/minions/anon-minion", &mn, http.StatusOK)
	expect(t, m.plainHC, "DELETE", m.plain+"/api/v1beta1/pods/anon?namespace=default", nil, http.StatusOK)
	// kubectl without any kubeconfig.
	cmd := exec.Command(m.bin, "kubectl", "-s", m.plain, "get", "minions")
	cmd.Env = append(os.Environ(), "KUBECONFIG=", "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "anon-minion") {
		t.Errorf("kubectl -s %s get minions: %v\n%s", m.plain, err, out)
	}
}

// TestCreateLatencyTLSvsPlain measures API creates over TLS (the admin's
// token, kept-alive connection; and a new TLS connection per create) beside
// plain HTTP to an --insecure master, in the same run, alternating, and
// logs p50/p99 of each for the lead's note. It fails only if a create fails.
func TestCreateLatencyTLSvsPlain(t *testing.T) {
	const n = 200
	sec := startMaster(t, false)
	ins := startMaster(t, true)
	fresh := sec.admin.NewTransport()
	fresh.DisableKeepAlives = true
	series := []struct {
		name string
		hc   *http.Client
		url  string
	}{
		{"plain HTTP (--insecure), kept-alive", ins.plainHC, ins.plain},
		{"TLS + bearer token, kept-alive", sec.adminHC, sec.url},
		{"TLS + bearer token, new connection each", &http.Client{Timeout: 10 * time.Second, Transport: sec.admin.Wrap(fresh)}, sec.url},
	}
	took := make([][]time.Duration, len(series))
	for i := -5; i < n; i++ { // 5 warm-up rounds, not counted
		for k := range series {
			s := (i + 5 + k) % len(series) // each series first in turn
			sr := series[s]
			id := fmt.Sprintf("lat-%d-%d", s, i+5)
			t0 := time.Now()
			code, body, err := call(sr.hc, "POST", sr.url+"/api/v1beta1/pods?namespace=default", podObject(id, ""))
			d := time.Since(t0)
			if err != nil || code != http.StatusCreated {
				t.Fatalf("%s: create %s: %d %v %.200s", sr.name, id, code, err, body)
			}
			if i >= 0 {
				took[s] = append(took[s], d)
			}
		}
	}
	for s, sr := range series {
		ds := took[s]
		slices.Sort(ds)
		t.Logf("API create, %d pods, %-40s p50 %6.2fms  p99 %6.2fms  max %6.2fms", len(ds), sr.name+":",
			ms(ds[len(ds)/2]), ms(ds[len(ds)*99/100]), ms(ds[len(ds)-1]))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// loopbackAddr is a loopback address of this test process's own
// (127.101.x.y), so that its kubelet can take port 10250 there.
func loopbackAddr() string {
	pid := os.Getpid()
	return fmt.Sprintf("127.101.%d.%d", pid/250%250, pid%250+1)
}
