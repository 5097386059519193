//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/lab"
)

// The v0.6 table columns (Kubernetes v0.6.2's printers; the pods'
// are the tutorial's own listing).
var tutorialColumns = map[string][]string{
	"pods":                   {"NAME", "IMAGE(S)", "HOST", "LABELS", "STATUS"},
	"replicationControllers": {"NAME", "IMAGE(S)", "SELECTOR", "REPLICAS"},
	"services":               {"NAME", "LABELS", "SELECTOR", "IP", "PORT"},
	"minions":                {"NAME", "LABELS"},
}

// tableRows parses a kubectl table: its header's columns and each row's cells
// by NAME (cells never hold spaces in these tables, STATUS aside: it is the
// rest of the line).
func tableRows(out string) (header []string, rows map[string][]string) {
	rows = map[string][]string{}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 {
		return nil, rows
	}
	header = strings.Fields(lines[0])
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if len(f) > len(header) && len(header) > 0 {
			f = append(f[:len(header)-1], strings.Join(f[len(header)-1:], " "))
		}
		rows[f[0]] = f
	}
	return header, rows
}

// 1. The tutorial, with its own files.
func scenarioTutorial(s *sc) {
	td := filepath.Join(s.root, "testdata", "tutorial")
	m1, m2 := s.lab.Minion(1), s.lab.Minion(2)

	// apache-pod.json: hostPort 8080, reached on its minion's address.
	s.kc("create", "-f", filepath.Join(td, "apache-pod.json"))
	ap := s.waitPods("name=fedoraapache", "fedoraapache Running", 60*time.Second, nRunning(1))[0]
	if ap.ID != "fedoraapache" {
		s.fatalf("apache pod is %q, want fedoraapache", ap.ID)
	}
	apHost := s.hostOf(host(ap))
	if apHost.Engine == nil {
		s.fatalf("fedoraapache bound to %s, not a minion", apHost.Name)
	}
	s.eventually("fedoraapache answers on "+apHost.Addr.String()+":8080 (from the master host)", 20*time.Second, func() (bool, string) {
		as := s.getFrom(s.ctx, s.lab.Master(), 1, "http://"+apHost.Addr.String()+":8080/")
		return as[0].ok() && as[0].Pod == "fedoraapache", fmt.Sprintf("%+v", as[0])
	})
	tutorialSecurity(s, "fedoraapache")

	// lnmp-replication.json: 2 replicas, resized to 6, 3 per minion.
	s.kc("create", "-f", filepath.Join(td, "lnmp-replication.json"))
	s.waitPods("name=webserver_pod", "2 webserver pods Running", 60*time.Second, nRunning(2))
	s.kc("resize", "webservercontroller", "6")
	ws := s.waitPods("name=webserver_pod", "6 webserver pods Running", 90*time.Second, nRunning(6))
	if ph := perHost(ws); ph[m1.Addr.String()] != 3 || ph[m2.Addr.String()] != 3 {
		s.fatalf("webserver pods per minion %v, want 3 on each: %s", ph, podSummary(ws))
	}

	// lnmp-service.json.
	s.kc("create", "-f", filepath.Join(td, "lnmp-service.json"))
	svc, err := s.service(s.ctx, "webserver")
	if err != nil {
		s.fatalf("%v", err)
	}
	if svc.PortalIP == "" || svc.Port != 8080 {
		s.fatalf("service webserver: portal %q port %d, want a portal IP and 8080", svc.PortalIP, svc.Port)
	}

	// The CLI's tables.
	for _, res := range []string{"pods", "services", "replicationControllers", "minions"} {
		out := s.kc("get", res)
		header, rows := tableRows(out)
		want := tutorialColumns[res]
		if len(header) < len(want) || strings.Join(header[:len(want)], " ") != strings.Join(want, " ") {
			s.fatalf("kubectl get %s: header %q, want the tutorial's columns %q", res, header, want)
		}
		var check map[string][]string
		switch res {
		case "pods":
			check = map[string][]string{"fedoraapache": {"fedoraapache", "fedora/apache", apHost.Addr.String() + "/" + apHost.Addr.String(), "name=fedoraapache", "Running"}}
			for _, p := range ws {
				check[p.ID] = []string{p.ID, "yorko/webserver", host(p) + "/" + host(p), "name=webserver_pod", "Running"}
			}
		case "services":
			check = map[string][]string{"webserver": {"webserver", "<none>", "name=webserver_pod", svc.PortalIP, "8080"}}
		case "replicationControllers":
			check = map[string][]string{"webservercontroller": {"webservercontroller", "yorko/webserver", "name=webserver_pod", "6"}}
		case "minions":
			check = map[string][]string{m1.Addr.String(): {m1.Addr.String(), "<none>"}, m2.Addr.String(): {m2.Addr.String(), "<none>"}}
		}
		for id, want := range check {
			got := rows[id]
			if len(got) < len(want) || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
				s.fatalf("kubectl get %s: row %q, want %q", res, got, want)
			}
		}
		if len(rows) != len(check) {
			s.fatalf("kubectl get %s: %d rows, want %d:\n%s", res, len(rows), len(check), out)
		}
	}

	// Delete a pod: a replacement is Running within 5 s.
	victim := ws[0].ID
	t0 := time.Now()
	s.kc("delete", "pods", victim)
	var replaced []api.Pod
	err = poll(s.ctx, 5*time.Second-time.Since(t0), func() (bool, string) {
		ps, err := s.pods(s.ctx, "name=webserver_pod")
		if err != nil {
			return false, err.Error()
		}
		replaced = ps
		if !nRunning(6)(ps) {
			return false, podSummary(ps)
		}
		for _, p := range ps {
			if p.ID == victim {
				return false, "deleted pod " + victim + " still listed: " + podSummary(ps)
			}
		}
		return true, ""
	})
	if err != nil {
		s.fatalf("replacement of deleted pod %s Running within 5 s: %v", victim, err)
	}
	s.logf("deleted %s, 6 Running again after %.2fs: %s", victim, time.Since(t0).Seconds(), strings.Join(names(replaced), " "))

	// From each minion, 60 GETs of portalIP:8080 reach all 6 pods (each
	// answers with its pod name). Checked last so that a broken pod network
	// does not hide the checks above.
	ws = replaced
	s.waitEndpoints("webserver", ws, 80, 30*time.Second)
	for _, h := range s.lab.Minions() {
		s.eventually("portal answers from "+h.Name, 15*time.Second, func() (bool, string) {
			as := s.getFrom(s.ctx, h, 1, portalURL(svc, "/"))
			return as[0].ok(), fmt.Sprintf("%+v", as[0])
		})
	}
	for _, h := range s.lab.Minions() {
		s.mustServe(h, portalURL(svc, "/"), 60, names(ws))
	}
}

// 1-access: issue 5's "tutorial's access check" on the lab.
func scenarioAccess(s *sc) {
	td := filepath.Join(s.root, "testdata", "tutorial")
	m1 := s.lab.Minion(1)
	s.kc("create", "-f", filepath.Join(td, "lnmp-replication.json"))
	s.kc("create", "-f", filepath.Join(td, "lnmp-service.json"))
	ws := s.waitPods("name=webserver_pod", "2 webserver pods Running", 60*time.Second, nRunning(2))
	svc, err := s.service(s.ctx, "webserver")
	if err != nil {
		s.fatalf("%v", err)
	}
	s.waitEndpoints("webserver", ws, 80, 30*time.Second)

	// iptables mode (the default): curl portalIP:8080 from a minion alternates between the pods.
	s.eventually("portal answers from minion1", 15*time.Second, func() (bool, string) {
		as := s.getFrom(s.ctx, m1, 1, portalURL(svc, "/"))
		return as[0].ok(), fmt.Sprintf("%+v", as[0])
	})
	s.mustServe(m1, portalURL(svc, "/"), 20, names(ws))

	// userspace mode: the tutorial's KUBE-PROXY rule, and the proxy port answers.
	if err := s.switchProxyMode(s.ctx, m1, "userspace"); err != nil {
		s.fatalf("restart minion1 in userspace mode: %v", err)
	}
	rule := regexp.MustCompile(`REDIRECT\s+(?:tcp|6)\s+--\s+\*\s+\*\s+0\.0\.0\.0/0\s+` + regexp.QuoteMeta(svc.PortalIP) +
		`\s+/\* default/webserver \*/\s+tcp dpt:8080 redir ports (\d+)`)
	var proxyPort int
	var table string
	s.eventually("iptables -nvL -t nat on minion1 shows the tutorial's KUBE-PROXY rule", 30*time.Second, func() (bool, string) {
		out, err := s.lab.Exec(s.ctx, m1, "iptables", "-nvL", "-t", "nat")
		if err != nil {
			return false, err.Error()
		}
		table = string(out)
		chain := table[max(0, strings.Index(table, "Chain KUBE-PROXY")):]
		if !strings.HasPrefix(chain, "Chain KUBE-PROXY") {
			return false, "no chain KUBE-PROXY:\n" + table
		}
		mm := rule.FindStringSubmatch(chain)
		if mm == nil {
			return false, "no REDIRECT rule for " + svc.PortalIP + ":8080 in:\n" + table
		}
		proxyPort, _ = strconv.Atoi(mm[1])
		return true, ""
	})
	for _, l := range strings.Split(table, "\n") {
		if strings.Contains(l, "KUBE-PROXY") || rule.MatchString(l) {
			s.logf("minion1 nat: %s", strings.TrimSpace(l))
		}
	}
	direct := fmt.Sprintf("http://%s:%d/", m1.Addr, proxyPort)
	s.eventually("curl "+direct+" answers (from the master host)", 15*time.Second, func() (bool, string) {
		as := s.getFrom(s.ctx, s.lab.Master(), 1, direct)
		return as[0].ok() && contains(names(ws), as[0].Pod), fmt.Sprintf("%+v", as[0])
	})
	// Round robin: consecutive requests through the portal alternate.
	as := s.getFrom(s.ctx, m1, 12, portalURL(svc, "/"))
	pods, fails := tally(as)
	if len(fails) > 0 || strings.Join(keys(pods), ",") != strings.Join(names(ws), ",") {
		s.fatalf("userspace mode: 12 GETs of the portal from minion1: %v, failures %q", pods, fails)
	}
	for i := 1; i < len(as); i++ {
		if as[i].Pod == as[i-1].Pod {
			s.fatalf("userspace mode: requests %d and %d both went to %s, want round robin: %v", i-1, i, as[i].Pod, as)
		}
	}
	s.logf("userspace mode: 12 GETs alternated between %v", keys(pods))

	// Back to iptables mode.
	if err := s.switchProxyMode(s.ctx, m1, "iptables"); err != nil {
		s.fatalf("%v", err)
	}
	s.eventually("portal answers from minion1 in iptables mode again", 30*time.Second, func() (bool, string) {
		return s.serves(m1, portalURL(svc, "/"), 20, names(ws))
	})
}

// 2. hostPort: 3 replicas with a hostPort on 2 minions: 2 Running, 1 Pending with the reason.
func scenarioHostPort(s *sc) {
	s.create(rcObject("hostport", 3, "kubelite/webserver:v1", 8091))
	var pending api.Pod
	ps := s.waitPods("name=hostport", "2 Running on distinct minions, 1 Pending with a reason", 60*time.Second, func(ps []api.Pod) bool {
		if len(ps) != 3 {
			return false
		}
		var run, pend int
		hosts := map[string]bool{}
		for _, p := range ps {
			switch {
			case running(p):
				run++
				hosts[host(p)] = true
			case host(p) == "" && (p.CurrentState.Reason != "" || p.CurrentState.Message != ""):
				pend++
				pending = p
			}
		}
		return run == 2 && len(hosts) == 2 && pend == 1
	})
	s.logf("pending pod %s: reason %q message %q", pending.ID, pending.CurrentState.Reason, pending.CurrentState.Message)
	out := s.kc("get", "pods", "-l", "name=hostport")
	_, rows := tableRows(out)
	row := rows[pending.ID]
	if len(row) < 5 || !strings.HasPrefix(row[4], "Pending") || !strings.Contains(out, "<unassigned>") {
		s.fatalf("kubectl get pods: row of %s is %q, want <unassigned> and STATUS Pending with the reason", pending.ID, row)
	}
	// Each minion's hostPort answers with the pod bound there.
	for _, p := range ps {
		if !running(p) {
			continue
		}
		u := "http://" + host(p) + ":8091/"
		s.eventually(u+" answers with "+p.ID, 20*time.Second, func() (bool, string) {
			as := s.getFrom(s.ctx, s.lab.Master(), 1, u)
			return as[0].ok() && as[0].Pod == p.ID, fmt.Sprintf("%+v", as[0])
		})
	}
	// And it stays so. Real time: the scheduler's real back-off (1 s, then
	// 2 s) retries the pending pod within these 3 s, and nothing outside its
	// process signals a retry (repeats of its event are deduplicated).
	time.Sleep(3 * time.Second)
	ps2, err := s.pods(s.ctx, "name=hostport")
	if err != nil {
		s.fatalf("%v", err)
	}
	if run := countRunning(ps2); run != 2 || len(ps2) != 3 {
		s.fatalf("3 s later: %s", podSummary(ps2))
	}
}

func countRunning(ps []api.Pod) int {
	n := 0
	for _, p := range ps {
		if running(p) {
			n++
		}
	}
	return n
}

// 3. Services, as the 2014 suite checked them.
func scenarioServices(s *sc) {
	s.create(rcObject("svca", 3, "kubelite/webserver:v1", 0))
	s.create(rcObject("svcb", 3, "kubelite/webserver:v1", 0))
	s.create(serviceObject("svca", 80, "svca"))
	s.create(serviceObject("svcb", 80, "svcb"))
	pa := s.waitPods("name=svca", "3 svca pods Running", 60*time.Second, nRunning(3))
	pb := s.waitPods("name=svcb", "3 svcb pods Running", 60*time.Second, nRunning(3))
	sa, err := s.service(s.ctx, "svca")
	if err != nil {
		s.fatalf("%v", err)
	}
	sb, err := s.service(s.ctx, "svcb")
	if err != nil {
		s.fatalf("%v", err)
	}
	if sa.PortalIP == "" || sa.PortalIP == sb.PortalIP {
		s.fatalf("portal IPs %q and %q, want two distinct", sa.PortalIP, sb.PortalIP)
	}
	s.waitEndpoints("svca", pa, 80, 30*time.Second)
	s.waitEndpoints("svcb", pb, 80, 30*time.Second)
	both := func() (bool, string) {
		for _, h := range s.lab.Minions() {
			if ok, why := s.serves(h, portalURL(sa, "/"), 30, names(pa)); !ok {
				return false, why
			}
			if ok, why := s.serves(h, portalURL(sb, "/"), 30, names(pb)); !ok {
				return false, why
			}
		}
		return true, ""
	}
	s.eventually("both services answer with exactly their own pods from both minions", 20*time.Second, both)

	// After restarting every proxy (the proxy runs in kubelite minion).
	for _, h := range s.lab.Minions() {
		if err := s.restartMinion(h); err != nil {
			s.fatalf("restart %s: %v", h.Name, err)
		}
	}
	if err := s.waitReady(s.ctx, 30*time.Second); err != nil {
		s.fatalf("after restarting the minions: %v", err)
	}
	s.eventually("after restarting every proxy: both services exact", 20*time.Second, both)

	// After flushing the proxy's chains on a minion: healed within 10 s.
	m1 := s.lab.Minion(1)
	out, err := s.lab.Exec(s.ctx, m1, "iptables", "-t", "nat", "-S")
	if err != nil {
		s.fatalf("%v", err)
	}
	var flushed []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "-N" && (f[1] == "KUBELITE-SERVICES" || strings.HasPrefix(f[1], "KUBELITE-SVC-") || f[1] == "KUBE-PROXY") {
			flushed = append(flushed, f[1])
		}
	}
	if len(flushed) == 0 {
		s.fatalf("no proxy chains on minion1 to flush:\n%s", out)
	}
	for _, ch := range flushed {
		if _, err := s.lab.Exec(s.ctx, m1, "iptables", "-t", "nat", "-F", ch); err != nil {
			s.fatalf("%v", err)
		}
	}
	s.logf("flushed %v on minion1", flushed)
	s.eventually("minion1's proxy rules healed within 10 s", 10*time.Second, func() (bool, string) {
		if ok, why := s.serves(m1, portalURL(sa, "/"), 15, names(pa)); !ok {
			return false, why
		}
		return s.serves(m1, portalURL(sb, "/"), 15, names(pb))
	})
	s.eventually("after flushing: both services exact", 10*time.Second, both)

	// After restarting the master.
	if err := s.master.Restart(); err != nil {
		s.fatalf("restart master: %v", err)
	}
	if err := s.waitReady(s.ctx, 60*time.Second); err != nil {
		s.fatalf("after restarting the master: %v", err)
	}
	s.eventually("after restarting the master: both services exact", 20*time.Second, both)

	// A deleted service stops answering.
	s.kc("delete", "services", "svca")
	s.eventually("deleted service svca stops answering on "+sa.PortalIP, 15*time.Second, func() (bool, string) {
		for _, h := range s.lab.Minions() {
			pods, fails := tally(s.getFromT(s.ctx, h, 2, time.Second, portalURL(sa, "/")))
			if len(pods) > 0 || len(fails) != 2 {
				return false, fmt.Sprintf("from %s still answered by %v", h.Name, pods)
			}
		}
		return true, ""
	})
	s.eventually("svcb unaffected", 10*time.Second, func() (bool, string) {
		return s.serves(m1, portalURL(sb, "/"), 15, names(pb))
	})

	// A new service does not reuse a live IP.
	s.create(serviceObject("svcc", 80, "svca"))
	svcs, err := s.services(s.ctx)
	if err != nil {
		s.fatalf("%v", err)
	}
	seen := map[string]string{}
	for _, v := range svcs {
		if v.PortalIP == "" {
			s.fatalf("service %s has no portal IP", v.ID)
		}
		if o, dup := seen[v.PortalIP]; dup {
			s.fatalf("services %s and %s share portal IP %s", o, v.ID, v.PortalIP)
		}
		seen[v.PortalIP] = v.ID
	}
	s.logf("live portal IPs: %v", seen)
}

// 4. Rolling update: run, resize 1, resize 2, rollingupdate v1 -> v2.
func scenarioRollingUpdate(s *sc) {
	const id, v1, v2 = "upd", "kubelite/webserver:v1", "kubelite/webserver:v2"
	m1 := s.lab.Minion(1)
	s.kc("run", v1, "2", id, "-p", "80", "-s", "8003")
	check := func(step string, n int, img string) []api.Pod {
		ps := s.waitPods("name="+id, fmt.Sprintf("%s: %d pods Running, image %s", step, n, img), 90*time.Second, func(ps []api.Pod) bool {
			if !nRunning(n)(ps) {
				return false
			}
			for _, p := range ps {
				if image(p) != img {
					return false
				}
			}
			return true
		})
		s.waitEndpoints(id, ps, 80, 30*time.Second)
		return ps
	}
	ps := check("run", 2, v1)
	svc, err := s.service(s.ctx, id)
	if err != nil {
		s.fatalf("%v", err)
	}
	s.eventually("service upd answers from minion1", 20*time.Second, func() (bool, string) {
		return s.serves(m1, portalURL(svc, "/"), 10, names(ps))
	})
	pr, err := s.startProber(m1, portalURL(svc, "/"), 200*time.Millisecond)
	if err != nil {
		s.fatalf("start prober: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			pr.stop()
		}
	}()
	s.kc("resize", id, "1")
	check("resize 1", 1, v1)
	s.kc("resize", id, "2")
	check("resize 2", 2, v1)
	s.kc("rollingupdate", id, "--image", v2, "-u", "2s")
	ps = check("rollingupdate", 2, v2)
	s.eventually("the service serves v2 from the new pods only", 20*time.Second, func() (bool, string) {
		as := s.getFrom(s.ctx, m1, 20, portalURL(svc, "/"))
		for _, a := range as {
			if !a.ok() || a.Version != "v2" {
				return false, fmt.Sprintf("answer %+v", a)
			}
		}
		pods, _ := tally(as)
		return strings.Join(keys(pods), ",") == strings.Join(names(ps), ","), fmt.Sprintf("answered by %v, want %v", pods, names(ps))
	})
	as := pr.stop()
	stopped = true
	gap, fails, first := probeGaps(as)
	s.logf("prober: %d GETs through the update, %d failed (first: %s), longest gap without an answer %.1fs", len(as), fails, first, gap.Seconds())
	if len(as) < 10 {
		s.fatalf("prober made only %d GETs: %v", len(as), as)
	}
	// "Answering throughout": no stretch longer than 2 s (10 probes at 200 ms,
	// 1 s timeout each) without an answer.
	if gap > 2*time.Second {
		s.fatalf("the service stopped answering for %.1fs during the update (%d of %d GETs failed, first: %s)", gap.Seconds(), fails, len(as), first)
	}
}

// probeGaps returns the longest time between two successful answers (or the
// start/end and one), the number of failures and the first failure.
func probeGaps(as []answer) (gap time.Duration, fails int, first string) {
	var last time.Time
	for i, a := range as {
		if i == 0 {
			last = a.At
		}
		if a.ok() {
			if d := a.At.Sub(last); d > gap {
				gap = d
			}
			last = a.At
			continue
		}
		fails++
		if first == "" {
			first = a.Err
			if first == "" {
				first = fmt.Sprintf("status %d", a.Status)
			}
		}
	}
	if n := len(as); n > 0 {
		if d := as[n-1].At.Sub(last); d > gap {
			gap = d
		}
	}
	return gap, fails, first
}

// 7. Pod to pod across minions by pod IP, and pod to service portal IP.
func scenarioPodToPod(s *sc) {
	// A hostPort puts the two pods on different minions whatever the
	// scheduler's spreading does; the traffic below goes to the pod IPs.
	s.create(rcObject("p2p", 2, "kubelite/webserver:v1", 8093))
	s.create(serviceObject("p2p", 80, "p2p"))
	ps := s.waitPods("name=p2p", "2 p2p pods Running", 60*time.Second, nRunning(2))
	if host(ps[0]) == host(ps[1]) {
		s.fatalf("both p2p pods on %s, want one per minion", host(ps[0]))
	}
	for i, from := range ps {
		to := ps[1-i]
		fh := s.hostOf(host(from))
		u := "http://" + to.CurrentState.PodIP + "/"
		s.eventually(fmt.Sprintf("pod %s (%s, %s) reaches pod %s at %s without NAT", from.ID, fh.Name, from.CurrentState.PodIP, to.ID, u), 20*time.Second, func() (bool, string) {
			as, err := s.getFromPod(s.ctx, fh, from.ID, 1, u)
			if err != nil {
				return false, err.Error()
			}
			a := as[0]
			return a.ok() && a.Pod == to.ID && strings.HasPrefix(a.Remote, from.CurrentState.PodIP+":"),
				fmt.Sprintf("%+v (want pod %s, remote %s:*)", a, to.ID, from.CurrentState.PodIP)
		})
	}
	svc, err := s.service(s.ctx, "p2p")
	if err != nil {
		s.fatalf("%v", err)
	}
	s.waitEndpoints("p2p", ps, 80, 30*time.Second)
	for _, from := range ps {
		fh := s.hostOf(host(from))
		s.eventually(fmt.Sprintf("pod %s reaches the portal %s:%d (both pods answer)", from.ID, svc.PortalIP, svc.Port), 20*time.Second, func() (bool, string) {
			as, err := s.getFromPod(s.ctx, fh, from.ID, 20, portalURL(svc, "/"))
			if err != nil {
				return false, err.Error()
			}
			pods, fails := tally(as)
			if len(fails) > 0 {
				hint := ""
				if _, self := pods[from.ID]; !self && len(pods) == len(ps)-1 {
					hint = " (only the client pod itself never answered: pod to its own service, hairpin)"
				}
				return false, fmt.Sprintf("%d of the first %d GETs failed, e.g. %s; answered by %v%s", len(fails), len(as), fails[0], pods, hint)
			}
			return strings.Join(keys(pods), ",") == strings.Join(names(ps), ","), fmt.Sprintf("answered by %v", pods)
		})
	}
}

// 8. Liveness: a pod whose http probe starts failing is restarted; its restartCount grows.
func scenarioLiveness(s *sc) {
	const id = "liveness"
	s.create(map[string]any{
		"id": id, "kind": "Pod", "apiVersion": "v1beta1",
		"labels": map[string]string{"name": id},
		"desiredState": map[string]any{"manifest": map[string]any{
			"version": "v1beta1", "id": id,
			"containers": []any{map[string]any{
				"name": "web", "image": "kubelite/webserver:v1",
				"ports":         []any{map[string]any{"containerPort": 80}},
				"livenessProbe": map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": 80}, "initialDelaySeconds": 1},
			}},
		}},
	})
	p := s.waitPods("name="+id, "liveness pod Running", 60*time.Second, nRunning(1))[0]
	h := s.hostOf(host(p))
	count := p.CurrentState.Info.Status("web").RestartCount
	if count != 0 {
		s.fatalf("restartCount %d before any failure, want 0", count)
	}
	// Running is the container started, not its server listening (v1beta1
	// has no readiness): wait until it answers before making it fail.
	s.eventually("liveness pod answers", 20*time.Second, func() (bool, string) {
		as := s.getFrom(s.ctx, h, 1, "http://"+p.CurrentState.PodIP+"/healthz")
		return as[0].ok(), fmt.Sprintf("%+v", as[0])
	})
	for round := 1; round <= 2; round++ {
		u := "http://" + p.CurrentState.PodIP + "/fail-health"
		as := s.getFrom(s.ctx, h, 1, u)
		if !as[0].ok() {
			s.fatalf("GET %s from %s: %+v", u, h.Name, as[0])
		}
		t0 := time.Now()
		s.eventually(fmt.Sprintf("round %d: restarted, restartCount > %d, Running again", round, count), 60*time.Second, func() (bool, string) {
			q, err := s.pod(s.ctx, id)
			if err != nil {
				return false, err.Error()
			}
			c := q.CurrentState.Info.Status("web").RestartCount
			if c > count && running(*q) && q.CurrentState.PodIP != "" {
				p = *q
				return true, ""
			}
			return false, fmt.Sprintf("restartCount %d, %s", c, podSummary([]api.Pod{*q}))
		})
		s.logf("round %d: restartCount %d -> %d after %.1fs", round, count, p.CurrentState.Info.Status("web").RestartCount, time.Since(t0).Seconds())
		count = p.CurrentState.Info.Status("web").RestartCount
		// The new container is healthy: it answers again.
		s.eventually("restarted container answers", 20*time.Second, func() (bool, string) {
			as := s.getFrom(s.ctx, h, 1, "http://"+p.CurrentState.PodIP+"/healthz")
			return as[0].ok(), fmt.Sprintf("%+v", as[0])
		})
	}
}

// lostSetup creates an RC of n pods with a service and waits until they run
// on both minions; it returns the pods and the service.
func (s *sc) lostSetup(id string, n int) ([]api.Pod, *api.Service) {
	s.create(rcObject(id, n, "kubelite/webserver:v1", 0))
	s.create(serviceObject(id, 80, id))
	ps := s.waitPods("name="+id, fmt.Sprintf("%d %s pods Running", n, id), 90*time.Second, nRunning(n))
	if ph := perHost(ps); len(ph) != 2 {
		s.fatalf("%s pods on %v, want both minions", id, ph)
	}
	svc, err := s.service(s.ctx, id)
	if err != nil {
		s.fatalf("%v", err)
	}
	s.waitEndpoints(id, ps, 80, 30*time.Second)
	return ps, svc
}

// onlyOn waits (until deadline) for the RC's n pods to run on host h only and
// the service to answer from them only, seen from h.
func (s *sc) onlyOn(id string, n int, svc *api.Service, h *lab.Host, within time.Duration, t0 time.Time) []api.Pod {
	s.t.Helper()
	var ps []api.Pod
	err := poll(s.ctx, within-time.Since(t0), func() (bool, string) {
		var err error
		ps, err = s.pods(s.ctx, "name="+id)
		if err != nil {
			return false, err.Error()
		}
		if !nRunning(n)(ps) {
			return false, podSummary(ps)
		}
		for _, p := range ps {
			if host(p) != h.Addr.String() {
				return false, podSummary(ps)
			}
		}
		var want []string
		for _, p := range ps {
			want = append(want, fmt.Sprintf("%s:80", p.CurrentState.PodIP))
		}
		sort.Strings(want)
		got, err := s.endpoints(s.ctx, id)
		if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			return false, fmt.Sprintf("endpoints %v (%v), want %v", got, err, want)
		}
		return s.serves(h, portalURL(svc, "/"), 20, names(ps))
	})
	if err != nil {
		s.fatalf("%s's pods all on %s and the service answering from them only, within %s: %v", id, h.Name, within, err)
	}
	s.logf("%s's %d pods all on %s and served from there %.1fs after the loss", id, n, h.Name, time.Since(t0).Seconds())
	return ps
}

// noDoubles checks the engines: no pod's containers run on two minions, no
// pod has two running containers of one name, no running container belongs
// to a pod the API does not have on that host, and (hostPort > 0) no host
// has two running containers publishing hostPort.
func (s *sc) noDoubles(hostPort int) (bool, string) {
	ps, err := s.pods(s.ctx, "")
	if err != nil {
		return false, err.Error()
	}
	where := map[string]string{}
	for _, p := range ps {
		where[p.ID] = host(p)
	}
	seen := map[string]string{}
	var problems []string
	for _, h := range s.lab.Minions() {
		cs, err := s.containers(s.ctx, h)
		if err != nil {
			return false, err.Error()
		}
		perName := map[string]int{}
		published := 0
		for _, c := range cs {
			if !c.running {
				continue
			}
			if hostPort > 0 && strings.Contains(c.ports, fmt.Sprintf(":%d->", hostPort)) {
				published++
			}
			if o, ok := seen[c.pod]; ok && o != h.Name {
				problems = append(problems, fmt.Sprintf("pod %s runs on %s and %s", c.pod, o, h.Name))
			}
			seen[c.pod] = h.Name
			perName[c.pod+"/"+c.name]++
			if where[c.pod] != h.Addr.String() {
				problems = append(problems, fmt.Sprintf("%s runs %s/%s, which the API has on %q", h.Name, c.pod, c.name, where[c.pod]))
			}
		}
		for k, n := range perName {
			if n > 1 {
				problems = append(problems, fmt.Sprintf("%s runs %d containers %s", h.Name, n, k))
			}
		}
		if published > 1 {
			problems = append(problems, fmt.Sprintf("%s has %d running containers publishing hostPort %d", h.Name, published, hostPort))
		}
	}
	return len(problems) == 0, strings.Join(problems, "; ")
}

// 5. Minion lost: minion 2's kubelite killed, then back.
func scenarioMinionLost(s *sc) {
	const id, n = "lost", 4
	m1, m2 := s.lab.Minion(1), s.lab.Minion(2)
	ps, svc := s.lostSetup(id, n)
	var old2 []string
	for _, p := range ps {
		if host(p) == m2.Addr.String() {
			old2 = append(old2, p.ID)
		}
	}
	t0 := time.Now()
	if err := s.minion(m2).Kill(); err != nil {
		s.fatalf("kill minion2's kubelite: %v", err)
	}
	s.logf("killed minion2's kubelite; its pods were %v", old2)
	s.onlyOn(id, n, svc, m1, grace+eviction+10*time.Second, t0)

	if err := s.restartMinion(m2); err != nil {
		s.fatalf("restart minion2: %v", err)
	}
	s.eventually("minion2 back: Ready, its old containers removed, no pod runs twice", 60*time.Second, func() (bool, string) {
		ready, err := s.readyMinions(s.ctx)
		if err != nil || !contains(ready, m2.Addr.String()) {
			return false, fmt.Sprintf("ready minions %v %v", ready, err)
		}
		cs, err := s.containers(s.ctx, m2)
		if err != nil {
			return false, err.Error()
		}
		for _, c := range cs {
			if contains(old2, c.pod) {
				return false, fmt.Sprintf("minion2 still has container %s of old pod %s (running %v)", c.name, c.pod, c.running)
			}
		}
		return s.noDoubles(0)
	})
	final := s.waitPods("name="+id, "still 4 Running", 10*time.Second, nRunning(n))
	s.mustServe(m1, portalURL(svc, "/"), 40, names(final))
}

// 6. Partition: minion 2 cut off past the eviction timeout, then healed.
func scenarioPartition(s *sc) {
	const id, n, hpID, hp = "part", 4, "parthp", 8092
	m1, m2 := s.lab.Minion(1), s.lab.Minion(2)
	ps, svc := s.lostSetup(id, n)
	s.create(rcObject(hpID, 2, "kubelite/webserver:v1", hp))
	hps := s.waitPods("name="+hpID, "2 hostPort pods Running, one per minion", 60*time.Second, func(ps []api.Pod) bool {
		return nRunning(2)(ps) && host(ps[0]) != host(ps[1])
	})
	var old2 []string
	for _, p := range append(ps, hps...) {
		if host(p) == m2.Addr.String() {
			old2 = append(old2, p.ID)
		}
	}
	t0 := time.Now()
	if err := s.lab.CutOff(s.ctx, m2); err != nil {
		s.fatalf("%v", err)
	}
	s.logf("cut minion2 off; its pods were %v", old2)
	healed := false
	defer func() {
		if !healed {
			_ = s.lab.Heal(s.ctx, m2)
		}
	}()
	s.onlyOn(id, n, svc, m1, grace+eviction+10*time.Second, t0)
	s.waitPods("name="+hpID, "hostPort RC: 1 Running on minion1, its replacement Pending", 10*time.Second, func(ps []api.Pod) bool {
		run, pend := 0, 0
		for _, p := range ps {
			if running(p) && host(p) == m1.Addr.String() {
				run++
			} else if host(p) == "" {
				pend++
			}
		}
		return len(ps) == 2 && run == 1 && pend == 1
	})
	if ok, why := s.noDoubles(hp); !ok && strings.Contains(why, "hostPort") {
		s.fatalf("during the partition: %s", why)
	}
	// Longer than the eviction timeout, then heal.
	if d := grace + eviction + 5*time.Second - time.Since(t0); d > 0 {
		time.Sleep(d) // real time tested: a partition longer than the master's eviction timeout
	}
	if err := s.lab.Heal(s.ctx, m2); err != nil {
		s.fatalf("%v", err)
	}
	healed = true
	s.logf("healed minion2 after %.1fs", time.Since(t0).Seconds())
	s.eventually("minion2 healed: Ready, its old containers removed, no pod or hostPort twice, hostPort RC one per minion", 90*time.Second, func() (bool, string) {
		if ok, why := s.noDoubles(hp); !ok && strings.Contains(why, "hostPort") {
			s.fatalf("after healing: %s", why)
		}
		ready, err := s.readyMinions(s.ctx)
		if err != nil || !contains(ready, m2.Addr.String()) {
			return false, fmt.Sprintf("ready minions %v %v", ready, err)
		}
		cs, err := s.containers(s.ctx, m2)
		if err != nil {
			return false, err.Error()
		}
		for _, c := range cs {
			if contains(old2, c.pod) {
				return false, fmt.Sprintf("minion2 still has container %s of old pod %s (running %v)", c.name, c.pod, c.running)
			}
		}
		hps, err := s.pods(s.ctx, "name="+hpID)
		if err != nil {
			return false, err.Error()
		}
		if !nRunning(2)(hps) || host(hps[0]) == host(hps[1]) {
			return false, "hostPort RC: " + podSummary(hps)
		}
		return s.noDoubles(hp)
	})
	// Each minion's hostPort is held by the pod the API has there.
	hps, err := s.pods(s.ctx, "name="+hpID)
	if err != nil {
		s.fatalf("%v", err)
	}
	for _, p := range hps {
		u := fmt.Sprintf("http://%s:%d/", host(p), hp)
		s.eventually(u+" answers with "+p.ID, 20*time.Second, func() (bool, string) {
			as := s.getFrom(s.ctx, s.lab.Master(), 1, u)
			return as[0].ok() && as[0].Pod == p.ID, fmt.Sprintf("%+v", as[0])
		})
	}
	final := s.waitPods("name="+id, "still 4 Running", 10*time.Second, nRunning(n))
	s.mustServe(m1, portalURL(svc, "/"), 40, names(final))
}
