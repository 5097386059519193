package kubelet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/lab"
	"kubelite/internal/securetest"
	"kubelite/internal/testutil"
)

// TestLabPodNetworkAcrossMinions runs real `kubelite master` and two
// `kubelite minion` processes (default --network=bridge, secure: joined with
// the master's token, the API read as the admin) in a lab: each
// minion gets its podCIDR, its kubelet makes the Docker network, two pods
// with the same hostPort land one per minion, each reaches the other by pod
// IP without NAT, and each hostPort answers on its minion's address.
// The e2e suite's scenario 7 checks the same through the CLI; this is the
// quick check for the kubelet's side alone. Fails, not skips, without root,
// Docker or the lab's tools.
func TestLabPodNetworkAcrossMinions(t *testing.T) {
	bin := testutil.KubeliteBinary(t)
	l := lab.ForTest(t, lab.Config{Name: "pn2", Minions: 2, Index: 6})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, h := range l.Minions() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := exec.CommandContext(ctx, bin, "images", "--docker-endpoint", h.Engine.DockerHost()).CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("kubelite images on %s: %v: %s", h.Name, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	root := l.Config().Root
	master := l.Master().Addr.String()
	dataDir := filepath.Join(root, "master", "data")
	mp, err := l.Start(l.Master(), "kubelite", bin, "master", "--config-dir=", "--etcd-embed",
		"--data-dir="+dataDir, "--address=0.0.0.0", "--port=8080")
	if err != nil {
		t.Fatal(err)
	}
	// Secure, as a newcomer runs it: the minions join with the token the
	// master's `kubelite token` prints; this test is the admin, with the
	// kubeconfig `kubelite kubeconfig --server` prints.
	var token string
	testutil.Eventually(t, 60*time.Second, func() error {
		if done, err := mp.Exited(); done {
			t.Fatalf("master exited: %v: %s", err, strings.Join(mp.Tail(10), "\n"))
		}
		token, err = securetest.Token(ctx, bin, dataDir)
		return err
	}, "the master's join token")
	kc, err := securetest.Kubeconfig(ctx, bin, dataDir, "https://"+master+":8080")
	if err != nil {
		t.Fatal(err)
	}
	kcPath := filepath.Join(root, "admin.kubeconfig")
	if err := os.WriteFile(kcPath, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	ep, err := securetest.FromKubeconfig(kcPath)
	if err != nil {
		t.Fatal(err)
	}
	hc := securetest.Client(ep, 5*time.Second)
	// A joining minion exits when the API does not listen yet: start the
	// minions once it answers, as a person would.
	testutil.Eventually(t, 60*time.Second, func() error {
		resp, err := hc.Get(ep.URL + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz: %s", resp.Status)
		}
		return nil
	}, "the master's API answers /healthz")
	for _, h := range l.Minions() {
		if _, err := l.Start(h, "kubelite", bin, "minion", "--config-dir=", "--master="+master+":8080", "--token="+token,
			"--hostname_override="+h.Addr.String(), "--host-ip="+h.Addr.String(),
			"--docker-endpoint="+h.Engine.DockerHost(), "--root-dir="+filepath.Join(root, h.Name, "kubelet")); err != nil {
			t.Fatal(err)
		}
	}
	apiURL := ep.URL + "/api/v1beta1/"
	do := func(method, path string, body any, out any) error {
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			if err != nil {
				return err
			}
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, apiURL+path, rd)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
		}
		if out != nil {
			return json.Unmarshal(b, out)
		}
		return nil
	}
	eventually := func(what string, timeout time.Duration, cond func() (bool, string)) {
		t.Helper()
		testutil.Eventually(t, timeout, func() error {
			if ok, last := cond(); !ok {
				return fmt.Errorf("last: %s", last)
			}
			return nil
		}, "%s", what)
	}
	// Both minions Ready with a podCIDR each.
	cidrs := map[string]string{}
	eventually("two minions with a podCIDR", 60*time.Second, func() (bool, string) {
		var list struct{ Items []api.Minion }
		if err := do("GET", "minions", nil, &list); err != nil {
			return false, err.Error()
		}
		for _, m := range list.Items {
			if m.PodCIDR != "" {
				cidrs[m.ID] = m.PodCIDR
			}
		}
		return len(cidrs) == 2, fmt.Sprintf("%+v", list.Items)
	})
	t.Logf("podCIDRs: %v", cidrs)
	for _, id := range []string{"pn-a", "pn-b"} {
		p := &api.Pod{TypeMeta: api.TypeMeta{ID: id, Namespace: "default", Labels: map[string]string{"name": "pn"}},
			DesiredState: api.PodState{Manifest: api.ContainerManifest{Version: "v1beta1", ID: id, Containers: []api.Container{
				{Name: "web", Image: "kubelite/webserver:v1", Ports: []api.Port{{ContainerPort: 80, HostPort: 8080}}},
			}}}}
		if err := do("POST", "pods?namespace=default", p, nil); err != nil {
			t.Fatal(err)
		}
	}
	var pods []api.Pod
	eventually("both pods Running with pod IPs in their minion's podCIDR", 90*time.Second, func() (bool, string) {
		var list struct{ Items []api.Pod }
		if err := do("GET", "pods?namespace=default", nil, &list); err != nil {
			return false, err.Error()
		}
		ok := len(list.Items) == 2
		var desc []string
		for _, p := range list.Items {
			host := p.DesiredState.Host
			ip, err := netip.ParseAddr(p.CurrentState.PodIP)
			cidr, ok2 := cidrs[host]
			in := err == nil && ok2 && netip.MustParsePrefix(cidr).Contains(ip)
			ok = ok && p.CurrentState.Phase == api.PodPhaseRunning && in
			desc = append(desc, fmt.Sprintf("%s on %s (%s) %s ip %s", p.ID, host, cidr, p.CurrentState.Phase, p.CurrentState.PodIP))
		}
		if ok && list.Items[0].DesiredState.Host == list.Items[1].DesiredState.Host {
			return false, "both on one minion: " + strings.Join(desc, "; ")
		}
		pods = list.Items
		return ok, strings.Join(desc, "; ")
	})
	hostOf := func(p api.Pod) *lab.Host {
		for _, h := range l.Minions() {
			if h.Addr.String() == p.DesiredState.Host {
				return h
			}
		}
		t.Fatalf("pod %s on unknown host %s", p.ID, p.DesiredState.Host)
		return nil
	}
	for i, from := range pods {
		to := pods[1-i]
		h := hostOf(from)
		infra := strings.TrimPrefix(from.CurrentState.Info.Status(InfraStatusName).ContainerID, "docker://")
		out, err := l.Docker(ctx, h, "inspect", "-f", "{{.State.Pid}}", infra)
		if err != nil {
			t.Fatalf("inspect infra of %s: %v %s", from.ID, err, out)
		}
		pid := strings.TrimSpace(string(out))
		url := "http://" + to.CurrentState.PodIP + "/"
		eventually(fmt.Sprintf("pod %s (%s) reaches %s at %s without NAT", from.ID, from.CurrentState.PodIP, to.ID, url), 20*time.Second, func() (bool, string) {
			out, err := exec.CommandContext(ctx, "nsenter", "--net=/proc/"+pid+"/ns/net", "--", "curl", "-sS", "-m", "2", url).CombinedOutput()
			body := string(out)
			return err == nil && strings.Contains(body, "pod: "+to.ID+"\n") && strings.Contains(body, "remote: "+from.CurrentState.PodIP+":"), fmt.Sprintf("%q %v", body, err)
		})
		t.Logf("pod %s (%s on %s) reached pod %s at %s, seen as %s", from.ID, from.CurrentState.PodIP, h.Name, to.ID, to.CurrentState.PodIP, from.CurrentState.PodIP)
	}
	// hostPort on each minion's address, from the master host.
	for _, p := range pods {
		url := "http://" + p.DesiredState.Host + ":8080/"
		eventually("hostPort "+url, 20*time.Second, func() (bool, string) {
			out, err := l.Exec(ctx, l.Master(), "curl", "-sS", "-m", "2", url)
			return err == nil && strings.Contains(string(out), "pod: "+p.ID+"\n"), fmt.Sprintf("%q %v", out, err)
		})
	}
	// Pod to a host outside the cluster range leaves masqueraded as its minion.
	from := pods[0]
	h := hostOf(from)
	if _, err := l.Start(l.Master(), "web", bin, "webserver", "--port=9000"); err != nil {
		t.Fatal(err)
	}
	infra := strings.TrimPrefix(from.CurrentState.Info.Status(InfraStatusName).ContainerID, "docker://")
	out, err := l.Docker(ctx, h, "inspect", "-f", "{{.State.Pid}}", infra)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(out))
	eventually("pod to the master host masqueraded as "+h.Addr.String(), 20*time.Second, func() (bool, string) {
		out, err := exec.CommandContext(ctx, "nsenter", "--net=/proc/"+pid+"/ns/net", "--", "curl", "-sS", "-m", "2", "http://"+master+":9000/").CombinedOutput()
		return err == nil && strings.Contains(string(out), "remote: "+h.Addr.String()+":"), fmt.Sprintf("%q %v", out, err)
	})
}
