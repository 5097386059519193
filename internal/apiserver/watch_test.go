package apiserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

type frame struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// openWatch GETs a watch URL and returns the response and a line reader.
func openWatch(t *testing.T, ctx context.Context, url string) (*http.Response, *bufio.Reader) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, bufio.NewReader(resp.Body)
}

// readFrame reads one line and checks that it is exactly one JSON frame.
func readFrame(t *testing.T, rd *bufio.Reader) frame {
	t.Helper()
	line, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("read frame: %v (got %q)", err, line)
	}
	var f frame
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("frame %q: %v", line, err)
	}
	return f
}

func TestWatchStreamFraming(t *testing.T) {
	mem := seeded(t)
	hs := httptest.NewServer(newServer(t, mem, apiserver.Config{}).Handler())
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, rev, _ := mem.List(ctx, api.Pods, store.ListOptions{})

	resp, rd := openWatch(t, ctx, hs.URL+"/api/v1beta1/watch/pods?resourceVersion="+strconv.FormatUint(rev, 10)+"&labels=app%3Dnew")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("watch answered %d %v", resp.StatusCode, resp.Header)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("transfer encoding %v, want chunked", resp.TransferEncoding)
	}
	c := context.Background()
	// Each event must arrive before the next change is made: one flush per event.
	p := mustCreate(t, mem, testPod("new", "default", map[string]string{"app": "new"})).(*api.Pod)
	f := readFrame(t, rd)
	if f.Type != "ADDED" || !strings.Contains(string(f.Object), `"id":"new"`) || !strings.Contains(string(f.Object), `"kind":"Pod"`) {
		t.Fatalf("frame %+v", f)
	}
	mustCreate(t, mem, testPod("ignored", "default", map[string]string{"app": "other"})) // filtered out by labels
	p.DesiredState.Host = "m1"
	if _, err := mem.Update(c, p); err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, rd); f.Type != "MODIFIED" || !strings.Contains(string(f.Object), `"host":"m1"`) {
		t.Fatalf("frame %+v", f)
	}
	if _, err := mem.Delete(c, api.Pods, "default", "new"); err != nil {
		t.Fatal(err)
	}
	if f := readFrame(t, rd); f.Type != "DELETED" {
		t.Fatalf("frame %+v", f)
	}
}

func TestWatchOneObjectAndNamespaces(t *testing.T) {
	mem := seeded(t)
	hs := httptest.NewServer(newServer(t, mem, apiserver.Config{}).Handler())
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, one := openWatch(t, ctx, hs.URL+"/api/v1beta2/watch/pods/b")
	_, all := openWatch(t, ctx, hs.URL+"/api/v1beta1/watch/pods?namespace=")
	for _, id := range []string{"a", "b"} {
		mustCreate(t, mem, testPod(id, "ns"+id, nil))
	}
	mustCreate(t, mem, testPod("b", "default", nil))
	if f := readFrame(t, one); f.Type != "ADDED" || !strings.Contains(string(f.Object), `"namespace":"default"`) || !strings.Contains(string(f.Object), `"apiVersion":"v1beta2"`) {
		t.Fatalf("one: %+v", f)
	}
	for _, ns := range []string{"nsa", "nsb", "default"} {
		if f := readFrame(t, all); !strings.Contains(string(f.Object), `"namespace":"`+ns+`"`) {
			t.Fatalf("all: %s, want namespace %s", f.Object, ns)
		}
	}
}

func TestWatchGoneBeforeStreaming(t *testing.T) {
	mem := memory.NewWithHistory(2)
	for i := 0; i < 5; i++ {
		mustCreate(t, mem, testPod(fmt.Sprintf("p%d", i), "default", nil))
	}
	h := newServer(t, mem, apiserver.Config{}).Handler()
	rec := do(h, "GET", "/api/v1beta1/watch/pods?resourceVersion=1", "")
	var st api.Status
	_ = json.Unmarshal(rec.Body.Bytes(), &st)
	if rec.Code != 410 || st.Code != 410 || st.Reason != api.ReasonGone {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// goneMidStream is a store whose watches report Gone as an ERROR event.
type goneMidStream struct{ store.Store }

func (goneMidStream) Watch(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	ch := make(chan store.Event, 1)
	st := api.NewGone("resourceVersion 3 compacted").Status
	ch <- store.Event{Type: store.Error, Object: &st}
	close(ch)
	return ch, nil
}

func TestWatchErrorEvent(t *testing.T) {
	h := newServer(t, goneMidStream{memory.New()}, apiserver.Config{}).Handler()
	rec := do(h, "GET", "/api/v1beta1/watch/pods?resourceVersion=3", "")
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	f := readFrame(t, bufio.NewReader(rec.Body))
	var st api.Status
	if err := json.Unmarshal(f.Object, &st); err != nil {
		t.Fatal(err)
	}
	if f.Type != "ERROR" || st.Kind != "Status" || st.Code != 410 || st.Reason != api.ReasonGone {
		t.Fatalf("frame %+v status %+v", f, st)
	}
}

// Run: listens, serves, and on ctx end ends open watches and returns.
func TestRunServesAndStops(t *testing.T) {
	srv := newServer(t, memory.New(), apiserver.Config{Address: "127.0.0.1", Port: 0})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func() { close(started) }) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	base := "http://" + srv.Addr()
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	_, rd := openWatch(t, wctx, base+"/api/v1beta1/watch/pods")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Run did not return after ctx ended (open watch kept it?)")
	}
	if _, err := rd.ReadString('\n'); err == nil {
		t.Fatal("watch stream still open after shutdown")
	}
}

func TestRunPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	srv := newServer(t, memory.New(), apiserver.Config{Address: "127.0.0.1", Port: port})
	err = srv.Run(context.Background(), func() { t.Error("started called") })
	want := fmt.Sprintf("listen on 127.0.0.1:%d: port %d is already in use", port, port)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}
