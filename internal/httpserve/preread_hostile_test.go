package httpserve_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"kubelite/internal/httpserve"
	"kubelite/internal/testutil"
)

// Issue 17 item 4: a stalled request body holds a connection, never one of
// the MaxInflight slots every client needs; it is answered 408 and cut
// after BodyTimeout. A body that does arrive reaches the handler whole,
// short or long.
func TestHostileStalledBodiesDoNotHoldSlots(t *testing.T) {
	got := make(chan string, 8)
	s := serveUntilEnd(t, httpserve.Config{
		Name: "test", Addr: "127.0.0.1:0", MaxInflight: 2, BodyTimeout: 500 * time.Millisecond, PreReadBytes: 64,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			got <- string(b)
			_, _ = fmt.Fprintf(w, "%d", len(b))
		}),
	})
	addr := s.Addr()

	// Ten stalled bodies, five times the in-flight cap.
	var stalled []net.Conn
	for i := 0; i < 10; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = fmt.Fprintf(c, "POST /x HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
		stalled = append(stalled, c)
	}
	// The server holds all ten (the signal that it has read their headers),
	// none of them in flight.
	testutil.Eventually(t, 5*time.Second, func() error {
		if st := s.Stats(); st.Conns < 10 {
			return fmt.Errorf("stats %+v", st)
		}
		return nil
	}, "the server holds 10 connections")
	if st := s.Stats(); st.Inflight != 0 {
		t.Fatalf("stalled bodies hold %d in-flight slots", st.Inflight)
	}

	// A normal client is served meanwhile: a short body, and one longer
	// than PreReadBytes (streamed while it holds a slot).
	for _, body := range []string{`{"a":1}`, `{"a":"` + strings.Repeat("x", 500) + `"}`} {
		resp, err := http.Post("http://"+addr+"/x", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != fmt.Sprint(len(body)) {
			t.Fatalf("normal client: %d %s", resp.StatusCode, b)
		}
		if g := <-got; g != body {
			t.Fatalf("handler got %d bytes, want %d", len(g), len(body))
		}
	}

	// After BodyTimeout each stalled one is answered 408 and closed.
	for i, c := range stalled {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("stalled %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "not received within 500ms") {
			t.Fatalf("stalled %d: %d %s", i, resp.StatusCode, b)
		}
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("stalled %d: connection still open", i)
		}
	}
	select {
	case g := <-got:
		t.Fatalf("a stalled body reached the handler: %q", g)
	default:
	}
}
