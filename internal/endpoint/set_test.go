package endpoint

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeMaster is an httptest server that answers with its name, or with the
// code it is told to.
type fakeMaster struct {
	name string
	hs   *httptest.Server
	code atomic.Int32 // 0: 200
	hits atomic.Int32
	hang chan struct{} // non-nil: requests wait on it
}

func newFakeMaster(t *testing.T, name string) *fakeMaster {
	f := &fakeMaster{name: name}
	f.hs = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		if f.hang != nil {
			select {
			case <-f.hang:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		if c := f.code.Load(); c != 0 {
			http.Error(w, name+" says "+http.StatusText(int(c)), int(c))
			return
		}
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(f.hs.Close)
	return f
}

func masters(t *testing.T, names ...string) ([]*fakeMaster, []string) {
	var fs []*fakeMaster
	var urls []string
	for _, n := range names {
		f := newFakeMaster(t, n)
		fs = append(fs, f)
		urls = append(urls, f.hs.URL)
	}
	return fs, urls
}

// send sends method to path on the set's first master and returns who
// answered (the body) and the code.
func send(t *testing.T, c *http.Client, method, base string) (string, int, error) {
	t.Helper()
	req, err := http.NewRequest(method, base+"/api/v1beta1/pods", strings.NewReader(`{"id":"p"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), resp.StatusCode, nil
}

func TestSetFailsOverAndStays(t *testing.T) {
	fs, urls := masters(t, "m1", "m2", "m3")
	set := NewSet(urls, List(urls).NewTransport())
	c := &http.Client{Transport: set}
	if got, _, err := send(t, c, http.MethodGet, urls[0]); err != nil || got != "m1" {
		t.Fatalf("first request: %q %v", got, err)
	}
	fs[0].hs.Close() // m1 dies: connection refused
	start := time.Now()
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		got, code, err := send(t, c, method, urls[0])
		if err != nil || got != "m2" || code != 200 {
			t.Fatalf("%s after m1 died: %q %d %v; want m2", method, got, code, err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("failover took %s, want under 2s", d)
	}
	if set.Current() != urls[1] {
		t.Fatalf("current %s, want %s", set.Current(), urls[1])
	}
	// m1 comes back? Requests stay on m2 until it fails.
	hits := fs[1].hits.Load()
	for i := 0; i < 5; i++ {
		if got, _, err := send(t, c, http.MethodGet, urls[0]); err != nil || got != "m2" {
			t.Fatalf("stays on m2: %q %v", got, err)
		}
	}
	if fs[1].hits.Load() != hits+5 {
		t.Fatalf("m2 saw %d requests, want %d", fs[1].hits.Load(), hits+5)
	}
	// m2 dies too: on to m3, and round to m1's address (dead) is not tried first.
	fs[1].hs.Close()
	if got, _, err := send(t, c, http.MethodGet, urls[0]); err != nil || got != "m3" {
		t.Fatalf("after m2 died: %q %v", got, err)
	}
}

func TestSetFailoverRule(t *testing.T) {
	for _, tc := range []struct {
		method string
		code   int
		want   string // who answers
		status int
	}{
		{http.MethodGet, 503, "m2", 200},
		{http.MethodPost, 503, "m2", 200}, // the master said it did nothing
		{http.MethodGet, 502, "m2", 200},
		{http.MethodGet, 504, "m2", 200},
		{http.MethodPut, 504, "m2", 200},
		{http.MethodPost, 504, "m1 says Gateway Timeout", 504}, // may have been done: not sent again
		{http.MethodPost, 502, "m1 says Bad Gateway", 502},
		{http.MethodGet, 500, "m1 says Internal Server Error", 500},
		{http.MethodGet, 404, "m1 says Not Found", 404},
		{http.MethodPost, 409, "m1 says Conflict", 409},
		{http.MethodGet, 429, "m1 says Too Many Requests", 429},
	} {
		fs, urls := masters(t, "m1", "m2")
		fs[0].code.Store(int32(tc.code))
		c := &http.Client{Transport: NewSet(urls, List(urls).NewTransport())}
		got, code, err := send(t, c, tc.method, urls[0])
		if err != nil || got != tc.want || code != tc.status {
			t.Errorf("%s answered %d by m1: got %q %d %v, want %q %d", tc.method, tc.code, got, code, err, tc.want, tc.status)
		}
	}
}

func TestSetAllDown(t *testing.T) {
	fs, urls := masters(t, "m1", "m2", "m3")
	for _, f := range fs {
		f.hs.Close()
	}
	c := &http.Client{Transport: NewSet(urls, List(urls).NewTransport())}
	_, _, err := send(t, c, http.MethodGet, urls[0])
	var af *AllFailedError
	if !errors.As(err, &af) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("all down: %v", err)
	}
	if !strings.Contains(err.Error(), "none of the 3 masters answered: ") {
		t.Errorf("message %q", err)
	}
	for _, u := range urls {
		if !strings.Contains(err.Error(), u+": ") {
			t.Errorf("message %q does not name %s", err, u)
		}
	}
	if len(af.Masters()) != 3 {
		t.Errorf("tried %v", af.Masters())
	}
}

// Every master that answers says 503 (quorum lost): the caller gets an
// answer with the master's message, not a connection error.
func TestSetAllUnavailable(t *testing.T) {
	fs, urls := masters(t, "m1", "m2")
	fs[0].hs.Close()
	fs[1].code.Store(503)
	c := &http.Client{Transport: NewSet(urls, List(urls).NewTransport())}
	got, code, err := send(t, c, http.MethodPost, urls[0])
	if err != nil || code != 503 || got != "m2 says Service Unavailable" {
		t.Fatalf("got %q %d %v", got, code, err)
	}
}

// A master that takes the connection but never answers is left once the
// transport's header timeout passes (for requests that may be sent again).
func TestSetHungMaster(t *testing.T) {
	fs, urls := masters(t, "m1", "m2")
	fs[0].hang = make(chan struct{})
	defer close(fs[0].hang)
	tr := List(urls).NewTransport()
	tr.ResponseHeaderTimeout = 200 * time.Millisecond
	c := &http.Client{Transport: NewSet(urls, tr)}
	if got, _, err := send(t, c, http.MethodGet, urls[0]); err != nil || got != "m2" {
		t.Fatalf("GET with m1 hung: %q %v", got, err)
	}
	c = &http.Client{Transport: NewSet(urls, tr)}
	hits := fs[1].hits.Load()
	_, _, err := send(t, c, http.MethodPost, urls[0])
	var me *MasterError
	if !errors.As(err, &me) || me.URL != urls[0] || !strings.Contains(err.Error(), "timeout awaiting response headers") || fs[1].hits.Load() != hits {
		t.Fatalf("POST with m1 hung: want m1's timeout and nothing sent to m2, got %v", err)
	}
}

// Requests to an address outside the set pass through; a body that cannot
// be replayed goes to the current master only.
func TestSetPassThroughAndOneShotBody(t *testing.T) {
	fs, urls := masters(t, "m1", "m2")
	other := newFakeMaster(t, "other")
	c := &http.Client{Transport: NewSet(urls, List(urls).NewTransport())}
	if got, _, err := send(t, c, http.MethodGet, other.hs.URL); err != nil || got != "other" {
		t.Fatalf("outside address: %q %v", got, err)
	}
	fs[0].hs.Close()
	req, _ := http.NewRequest(http.MethodPut, urls[0]+"/x", io.NopCloser(strings.NewReader("body")))
	req.GetBody = nil
	if _, err := c.Do(req); err == nil || !strings.Contains(err.Error(), "cannot be sent again to the 1 others") {
		t.Fatalf("one-shot body: %v", err)
	}
}

func TestNormalizeList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"m1", []string{"https://m1:8080"}, ""},
		{"m1:8080, m2:9000 ,https://m3", []string{"https://m1:8080", "https://m2:9000", "https://m3:8080"}, ""},
		{"m1,,m2", nil, "an empty entry"},
		{"m1,", nil, "an empty entry"},
		{"m1,m1:8080", nil, "given twice"},
		{"m1,ftp://m2", nil, "scheme must be https or http"},
		{"", nil, "no API address"},
	} {
		got, err := NormalizeList(tc.in, "https")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("NormalizeList(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("NormalizeList(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	ep := List([]string{"https://a:1", "https://b:2"})
	if ep.URL != "https://a:1" || len(ep.Others) != 1 || ep.String() != "https://a:1,https://b:2" {
		t.Fatalf("List: %+v %s", ep, ep)
	}
	if _, ok := ep.RoundTripper().(*Set); !ok {
		t.Fatalf("RoundTripper of a list is a %T, want *Set", ep.RoundTripper())
	}
}

// A master on a host that is gone (192.0.2.1, TEST-NET-1: nothing answers
// there; the SYN is dropped, or the network is unreachable) is left within
// FailoverDialTimeout by the transport Endpoint.RoundTripper builds.
func TestSetDeadHost(t *testing.T) {
	live := newFakeMaster(t, "m2")
	ep := List([]string{"http://192.0.2.1:8080", live.hs.URL})
	c := &http.Client{Transport: ep.RoundTripper()}
	start := time.Now()
	got, _, err := send(t, c, http.MethodPost, ep.URL)
	took := time.Since(start)
	if err != nil || got != "m2" {
		t.Fatalf("with the first master's host gone: %q %v", got, err)
	}
	if took > 2*time.Second {
		t.Fatalf("failover from a dead host took %s, want under 2s", took)
	}
	t.Logf("failover from a dead host: %s", took)
}
