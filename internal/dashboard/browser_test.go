package dashboard_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/auth"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

var screenshot = flag.String("screenshot", "", "write a PNG of the dashboard over a small sample cluster to this file")

// browser is a headless Chromium driven over the DevTools protocol.
type browser struct {
	t    *testing.T
	ws   *websocket.Conn
	next int
}

// chromium starts Debian's headless chromium on url and connects to the
// page's DevTools websocket.
func chromium(t *testing.T, url string, flags ...string) *browser {
	t.Helper()
	testutil.SystemTest(t, "chromium")
	bin, err := exec.LookPath("chromium")
	if err != nil {
		msg := "chromium is not installed (apt-get install -y chromium)"
		if os.Getenv(testutil.SkipSystemEnv) == "1" {
			t.Skip(msg)
		}
		t.Fatalf("%s (set %s=1 to skip on a developer machine)", msg, testutil.SkipSystemEnv)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-extensions", "--disable-background-networking", "--window-size=1280,1000",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1",
		"--user-data-dir="+dir)
	cmd.Args = append(append(cmd.Args, flags...), url)
	cmd.Stderr = testWriter{t}
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=disabled:")
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	// Chromium writes its DevTools port into the profile directory.
	var port string
	testutil.Eventually(t, 20*time.Second, func() error {
		b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort"))
		if err != nil {
			return err
		}
		// The file can be there before its first line is (it is not
		// written atomically): an empty or partial port is read again.
		p, _, complete := strings.Cut(string(b), "\n")
		if _, err := strconv.Atoi(p); err != nil || !complete {
			return fmt.Errorf("DevToolsActivePort holds %q so far", b)
		}
		port = p
		return nil
	}, "chromium did not open its DevTools port")
	var wsURL string
	testutil.Eventually(t, 10*time.Second, func() error {
		resp, err := http.Get("http://127.0.0.1:" + port + "/json/list")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var targets []struct{ Type, URL, WebSocketDebuggerURL string }
		if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
			return err
		}
		for _, tg := range targets {
			if tg.Type == "page" && strings.HasPrefix(tg.URL, url) {
				wsURL = tg.WebSocketDebuggerURL
				return nil
			}
		}
		return fmt.Errorf("no page on %s among %+v", url, targets)
	}, "chromium has no page for the dashboard")
	ws, err := websocket.Dial(wsURL, "", "http://127.0.0.1")
	if err != nil {
		t.Fatalf("devtools websocket: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return &browser{t: t, ws: ws}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if testing.Verbose() {
		w.t.Logf("chromium: %s", strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// call sends one DevTools command and returns its result, skipping events.
func (b *browser) call(method string, params any) json.RawMessage {
	b.t.Helper()
	b.next++
	id := b.next
	if err := websocket.JSON.Send(b.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		b.t.Fatalf("%s: %v", method, err)
	}
	_ = b.ws.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := websocket.JSON.Receive(b.ws, &msg); err != nil {
			b.t.Fatalf("%s: %v", method, err)
		}
		if msg.ID != id {
			continue
		}
		if msg.Error != nil {
			b.t.Fatalf("%s: %s", method, msg.Error.Message)
		}
		return msg.Result
	}
}

// eval evaluates a JavaScript expression in the page and returns its value
// as JSON.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	var out struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(b.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}), &out); err != nil {
		b.t.Fatal(err)
	}
	if out.ExceptionDetails != nil {
		b.t.Fatalf("evaluate %s: %s", expr, out.ExceptionDetails.Text)
	}
	return string(out.Result.Value)
}

// waitFor polls a boolean expression every 20 ms until it is true or
// timeout passes; it returns how long that took.
func (b *browser) waitFor(expr string, timeout time.Duration, what string) time.Duration {
	b.t.Helper()
	start := time.Now()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if b.eval(expr) == "true" {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			b.t.Fatalf("not within %s: %s (page error: %s)", timeout, what, b.eval(`document.getElementById("error").textContent`))
		}
		<-tick.C
	}
}

func post(t *testing.T, base, res, body string) {
	t.Helper()
	resp, err := http.Post(base+"/api/v1beta1/"+res, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create %s: %d", res, resp.StatusCode)
	}
}

func podJSON(id string, labels string) string {
	return `{"kind":"Pod","apiVersion":"v1beta1","id":"` + id + `","labels":` + labels + `,` +
		`"desiredState":{"manifest":{"version":"v1beta1","id":"` + id + `","containers":[{"name":"web","image":"kubelite/webserver:v1","cpu":100,"memory":67108864}]}}}`
}

// TestDashboardShowsANewPodWithoutReload loads /ui in headless Chromium,
// creates a pod through the API and finds it in the page within 2 s, with
// the page never reloaded; the label filter hides it; a delete removes it.
func TestDashboardShowsANewPodWithoutReload(t *testing.T) {
	srv, err := apiserver.New(apiserver.Config{Store: memory.New()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close) // after chromium's cleanup (its watches hold connections)
	if *screenshot != "" {
		sample(t, ts.URL)
	}

	b := chromium(t, ts.URL+"/ui/")
	b.waitFor(`document.getElementById("conn") !== null && document.getElementById("conn").textContent === "live"`, 15*time.Second, "the page lists and watches every resource")
	b.eval(`window.__notReloaded = 42`)

	row := `document.querySelector('#pods tr[data-key="default/dash-pod"]')`
	created := time.Now()
	post(t, ts.URL, "pods", podJSON("dash-pod", `{"app":"dash"}`))
	took := b.waitFor(row+` !== null`, 2*time.Second-time.Since(created), "the new pod in the page within 2 s")
	t.Logf("pod shown %s after its create returned (%s after it was sent)", took, time.Since(created))
	if b.eval(`window.__notReloaded`) != "42" {
		t.Fatal("the page was reloaded")
	}
	if got := b.eval(row + `.textContent`); !strings.Contains(got, "dash-pod") || !strings.Contains(got, "unscheduled") || !strings.Contains(got, "app=dash") {
		t.Errorf("pod row %s", got)
	}

	b.eval(`(() => { const f = document.getElementById("filter"); f.value = "app=other"; f.dispatchEvent(new Event("input")); })()`)
	b.waitFor(row+` === null`, 2*time.Second, "the filter app=other hides the pod")
	b.eval(`(() => { const f = document.getElementById("filter"); f.value = "app=dash"; f.dispatchEvent(new Event("input")); })()`)
	b.waitFor(row+` !== null`, 2*time.Second, "the filter app=dash shows the pod")

	req, _ := http.NewRequest(http.MethodDelete, ts.URL+"/api/v1beta1/pods/dash-pod", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	b.waitFor(row+` === null`, 2*time.Second, "the deleted pod leaves the page")

	if *screenshot != "" {
		b.eval(`(() => { const f = document.getElementById("filter"); f.value = ""; f.dispatchEvent(new Event("input")); })()`)
		b.waitFor(`document.querySelectorAll("#pods tr").length >= 4`, 5*time.Second, "the sample pods")
		var shot struct{ Data string }
		if err := json.Unmarshal(b.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}), &shot); err != nil {
			t.Fatal(err)
		}
		png, err := base64.StdEncoding.DecodeString(shot.Data)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", *screenshot, len(png))
	}
}

// sample fills the API with a small cluster for the screenshot: two
// minions, an RC's pods bound and running, a service with endpoints and
// a few events.
func sample(t *testing.T, base string) {
	t.Helper()
	now := time.Now().UTC().Format(time.RFC3339)
	for i, ip := range []string{"192.168.1.201", "192.168.1.202"} {
		post(t, base, "minions", fmt.Sprintf(`{"kind":"Minion","apiVersion":"v1beta1","id":"minion-%d","hostIP":"%s","resources":{"capacity":{"cpu":2000,"memory":4294967296}},"status":{"condition":"Ready"}}`, i+1, ip))
	}
	post(t, base, "replicationControllers", `{"kind":"ReplicationController","apiVersion":"v1beta1","id":"frontend","labels":{"name":"frontend"},"desiredState":{"replicas":3,"replicaSelector":{"name":"frontend"},"podTemplate":{"labels":{"name":"frontend"},"desiredState":{"manifest":{"version":"v1beta1","id":"frontend","containers":[{"name":"php-redis","image":"kubelite/webserver:v1","cpu":100}]}}}}}`)
	for i, id := range []string{"frontend-bkqym", "frontend-clqxm", "frontend-dmqwm", "redis-master"} {
		name := "frontend"
		if id == "redis-master" {
			name = id
		}
		host := fmt.Sprintf("minion-%d", 1+i%2)
		post(t, base, "pods", `{"kind":"Pod","apiVersion":"v1beta1","id":"`+id+`","labels":{"name":"`+name+`"},`+
			`"desiredState":{"host":"`+host+`","manifest":{"version":"v1beta1","id":"`+id+`","containers":[{"name":"web","image":"kubelite/webserver:v1","cpu":250,"memory":134217728}]}},`+
			fmt.Sprintf(`"currentState":{"status":"Running","host":"%s","podIP":"10.244.%d.%d","info":{"web":{"restartCount":%d,"state":{"running":{}}}}}}`, host, 1+i%2, 2+i, i/3*2))
	}
	post(t, base, "services", `{"kind":"Service","apiVersion":"v1beta1","id":"frontend","port":80,"containerPort":80,"selector":{"name":"frontend"},"labels":{"name":"frontend"}}`)
	post(t, base, "endpoints", `{"kind":"Endpoints","apiVersion":"v1beta1","id":"frontend","endpoints":["10.244.1.2:80","10.244.2.2:80","10.244.2.3:80"]}`)
	for i, ev := range [][3]string{{"redis-master", "Scheduled", "Successfully assigned redis-master to minion-1"}, {"redis-master", "Pulling", `Pulling image "redis"`}, {"redis-master", "Started", "Started container web"}, {"frontend-blpym", "BackOff", "Back-off 10s restarting failed container web (exit code 1)"}} {
		post(t, base, "events", fmt.Sprintf(`{"kind":"Event","apiVersion":"v1beta1","id":"ev%d","involvedObject":{"kind":"Pod","name":"%s","namespace":"default"},"reason":"%s","message":%q,"source":"kubelet minion-1","timestamp":"%s"}`, i, ev[0], ev[1], ev[2], now))
	}
}

// TestDashboardSignInOverTLS: against the secure API (TLS, tokens), the
// page shows nothing to an anonymous browser off the master host, works
// once signed in with the admin's token (sent as a bearer header), and its
// scale button changes a replication controller.
func TestDashboardSignInOverTLS(t *testing.T) {
	st := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: st, Security: &apiserver.Security{
		Authn: auth.NewAuthenticator(map[string]auth.User{"admin-secret": {Name: auth.Admin}}, nil),
	}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.EnableHTTP2 = false
	ts.StartTLS()
	t.Cleanup(ts.Close)
	client := ts.Client()
	send := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer admin-secret")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	send(http.MethodPost, "/api/v1beta1/replicationControllers", `{"kind":"ReplicationController","apiVersion":"v1beta1","id":"web","desiredState":{"replicas":2,"replicaSelector":{"app":"web"},"podTemplate":{"labels":{"app":"web"},"desiredState":{"manifest":{"version":"v1beta1","id":"web","containers":[{"name":"web","image":"kubelite/webserver:v1"}]}}}}}`)

	b := chromium(t, ts.URL+"/ui/", "--ignore-certificate-errors")
	// Over TLS nothing is anonymous, even from this host.
	b.waitFor(`document.getElementById("error") !== null && document.getElementById("error").textContent.includes("401")`, 10*time.Second, "an anonymous page is refused (401) and says so")
	b.eval(`(() => { document.getElementById("token").value = "admin-secret"; document.getElementById("signin-btn").click(); })()`)
	b.waitFor(`document.getElementById("conn").textContent === "live"`, 10*time.Second, "signed in, the page lists and watches")
	if got := b.eval(`sessionStorage.getItem("kubelite-token")`); got != `"admin-secret"` {
		t.Errorf("token in sessionStorage: %s", got)
	}
	rc := `document.querySelector('#rcs tr[data-key="default/web"]')`
	b.waitFor(rc+` !== null`, 2*time.Second, "the replication controller in the page")
	b.eval(rc + `.querySelector('button[title="scale up"]').click()`)
	testutil.Eventually(t, 5*time.Second, func() error {
		o, err := st.Get(context.Background(), api.ReplicationControllers, api.DefaultNamespace, "web")
		if err != nil {
			return err
		}
		if n := o.(*api.ReplicationController).DesiredState.Replicas; n != 3 {
			return fmt.Errorf("replicas %d (page error: %s)", n, b.eval(`document.getElementById("error").textContent`))
		}
		return nil
	}, "the scale button sets replicas to 3")
	b.waitFor(rc+`.children[2].textContent === "3"`, 2*time.Second, "the page shows the new desired count")

	send(http.MethodPost, "/api/v1beta1/pods", podJSON("tls-pod", `{"app":"web"}`))
	b.waitFor(`document.querySelector('#pods tr[data-key="default/tls-pod"]') !== null`, 2*time.Second, "a new pod within 2 s over TLS")
}
