//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/lab"
)

// curl runs the machine's curl inside host h's network namespace, as a
// person on that host would, and returns the HTTP status (0 when no answer)
// and the body. -k only where the check is about who may ask, not whom the
// client trusts.
func (c *cluster) curl(ctx context.Context, h *lab.Host, args ...string) (int, string, error) {
	argv := append([]string{"curl", "-sS", "-m", "5", "-w", "\n%{http_code}"}, args...)
	out, err := c.lab.Exec(ctx, h, argv...)
	s := strings.TrimRight(string(out), "\n")
	i := strings.LastIndex(s, "\n")
	code, cerr := strconv.Atoi(strings.TrimSpace(s[i+1:]))
	if cerr != nil || code == 0 {
		return 0, s, fmt.Errorf("curl %s on %s: %v: %s", strings.Join(args, " "), h.Name, err, s)
	}
	return code, s[:max(i, 0)], nil
}

// expectCurl runs curl on h and fails the scenario unless the status is
// want and the body contains every string of has.
func (s *sc) expectCurl(h *lab.Host, want int, has []string, args ...string) string {
	s.t.Helper()
	code, body, err := s.curl(s.ctx, h, args...)
	if err != nil {
		s.fatalf("%v", err)
	}
	if code != want {
		s.fatalf("from %s, curl %s: %d, want %d: %.300s", h.Name, strings.Join(args, " "), code, want, body)
	}
	for _, x := range has {
		if !strings.Contains(body, x) {
			s.fatalf("from %s, curl %s: %d, body lacks %q: %.300s", h.Name, strings.Join(args, " "), code, x, body)
		}
	}
	s.logf("from %s: curl %s -> %d", h.Name, strings.Join(args, " "), code)
	return body
}

// tutorialSecurity checks the secure default as the tutorial's user meets
// it, with pod in the cluster: on the master host the tutorial's plain-HTTP
// curls of the API still read (its own address and loopback) but may not
// write; from another host plain HTTP is refused and https without a
// credential gets 401 and no data; a kubelet answers anonymous callers only
// /healthz; the master reaches kubelets with its own credential (kubectl
// log through the API's proxy).
func tutorialSecurity(s *sc, pod string) {
	m, m1 := s.lab.Master(), s.lab.Minion(1)
	plain := fmt.Sprintf("http://%s:%d", m.Addr, apiPort)
	secure := fmt.Sprintf("https://%s:%d", m.Addr, apiPort)
	pods := "/api/v1beta1/pods?namespace=default"

	// This host's own reads, as the tutorial curls them.
	s.expectCurl(m, 200, []string{`"id":"` + pod + `"`}, plain+pods)
	s.expectCurl(m, 200, []string{`"id":"` + pod + `"`}, fmt.Sprintf("http://127.0.0.1:%d%s", apiPort, pods))
	s.expectCurl(m, 200, []string{"ok"}, plain+"/healthz")
	// A plain write, even from this host, is refused, naming https and the token.
	body := filepath.Join(s.tmp, "plain-pod.json")
	b, _ := json.Marshal(rcObject("plainwrite", 1, "kubelite/webserver:v1", 0))
	if err := os.WriteFile(body, b, 0o644); err != nil {
		s.fatalf("%v", err)
	}
	s.expectCurl(m, 403, []string{"https://", "token"}, "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@"+body,
		plain+"/api/v1beta1/replicationControllers?namespace=default")
	if rcs, err := s.rcs(s.ctx); err != nil || len(rcs) != 0 {
		s.fatalf("after a refused plain write: replication controllers %v (%v), want none", rcs, err)
	}
	// Another host: plain HTTP refused, https without a credential 401 and no data.
	s.expectCurl(m1, 403, []string{"https://", "token"}, plain+pods)
	out := s.expectCurl(m1, 401, nil, "-k", secure+pods)
	if strings.Contains(out, pod) {
		s.fatalf("anonymous https read from minion1 leaked pod data: %.300s", out)
	}
	s.expectCurl(m1, 200, []string{"ok"}, "-k", secure+"/healthz")
	// A kubelet (port 10250) answers anonymous callers only /healthz.
	kubelet := fmt.Sprintf("https://%s:10250", m1.Addr)
	s.expectCurl(m, 401, nil, "-k", kubelet+"/podInfo?podID="+pod+"&podNamespace=default")
	s.expectCurl(m, 401, nil, "-k", kubelet+"/stats/")
	s.expectCurl(m, 200, []string{"ok"}, "-k", kubelet+"/healthz")
	// The master authenticates to kubelets: logs through the API's proxy.
	s.kc("log", pod)
}

// 9. --insecure: the whole cluster as in 2014 (master --insecure, minions
// --master=http://...): plain HTTP, anonymous writes from any host,
// anonymous minions, anonymous kubelets. The next reset restores the secure
// cluster on the same data dirs.
func scenarioInsecure(s *sc) {
	m, m1, m2 := s.lab.Master(), s.lab.Minion(1), s.lab.Minion(2)
	t0 := time.Now()
	if err := s.setInsecure(s.ctx, true); err != nil {
		s.fatalf("switch to --insecure: %v", err)
	}
	if err := s.waitReady(s.ctx, 60*time.Second); err != nil {
		s.fatalf("insecure cluster not ready: %v", err)
	}
	s.logf("cluster restarted with --insecure and http:// minions, Ready after %.1fs", time.Since(t0).Seconds())
	if log := strings.Join(s.master.Tail(200), "\n"); !strings.Contains(log, "has no TLS and no authentication") {
		s.fatalf("the --insecure master did not warn:\n%s", log)
	}
	plain := fmt.Sprintf("http://%s:%d", m.Addr, apiPort)

	// An anonymous write from another host, plain HTTP.
	const id = "insecure"
	body := filepath.Join(s.tmp, "insecure-pod.json")
	b, _ := json.Marshal(map[string]any{
		"id": id, "kind": "Pod", "apiVersion": "v1beta1",
		"labels": map[string]string{"name": id},
		"desiredState": map[string]any{"manifest": map[string]any{
			"version": "v1beta1", "id": id,
			"containers": []any{map[string]any{"name": "web", "image": "kubelite/webserver:v1", "ports": []any{map[string]any{"containerPort": 80}}}},
		}},
	})
	if err := os.WriteFile(body, b, 0o644); err != nil {
		s.fatalf("%v", err)
	}
	s.expectCurl(m1, 201, []string{`"id":"` + id + `"`}, "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@"+body,
		plain+"/api/v1beta1/pods?namespace=default")
	p := s.waitPods("name="+id, "the anonymously created pod Running on an anonymous minion", 60*time.Second, nRunning(1))[0]
	out := s.kc("get", "pods")
	if !strings.Contains(out, id) {
		s.fatalf("kubectl -s %s get pods lacks %s:\n%s", plain, id, out)
	}
	// Anonymous kubelets on plain HTTP; the master proxies to them without a credential.
	h := s.hostOf(host(p))
	s.expectCurl(m2, 200, []string{`"web"`}, fmt.Sprintf("http://%s:10250/podInfo?podID=%s&podNamespace=default", h.Addr, id))
	s.kc("log", id)
	// No TLS on the API port: a TLS client gets no API.
	if code, out, err := s.curl(s.ctx, m1, "-k", fmt.Sprintf("https://%s:%d/healthz", m.Addr, apiPort)); err == nil && code == 200 {
		s.fatalf("an --insecure master answered https: %d %.200s", code, out)
	}
	// An anonymous delete from the other minion host.
	s.expectCurl(m2, 200, nil, "-X", "DELETE", plain+"/api/v1beta1/pods/"+id+"?namespace=default")
	s.waitPods("name="+id, "the anonymously deleted pod gone", 30*time.Second, func(ps []api.Pod) bool { return len(ps) == 0 })
}
