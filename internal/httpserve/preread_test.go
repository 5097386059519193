package httpserve_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"kubelite/internal/httpserve"
)

// serveUntilEnd listens with cfg (logging nowhere unless cfg says) and
// serves until the test ends.
func serveUntilEnd(t *testing.T, cfg httpserve.Config) *httpserve.Server {
	t.Helper()
	if cfg.Log == nil {
		log := logrus.New()
		log.SetOutput(io.Discard)
		cfg.Log = logrus.NewEntry(log)
	}
	s, err := httpserve.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s
}

// A body that fits PreReadBytes reaches the handler read whole, its bytes
// offered through PreRead (the API's decoders take them without a second
// buffer); a longer one is streamed and offers none. Either reads whole.
func TestPreReadBodyOffersItsBytes(t *testing.T) {
	s := serveUntilEnd(t, httpserve.Config{
		Name: "test", Addr: "127.0.0.1:0", PreReadBytes: 64,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pr, whole := r.Body.(interface{ PreRead() []byte })
			var b []byte
			var err error
			if whole {
				b = pr.PreRead()
			} else {
				b, err = io.ReadAll(r.Body)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			_, _ = fmt.Fprintf(w, "%v %s", whole, b)
		}),
	})
	for _, tc := range []struct {
		body  string
		whole bool
	}{
		{`{"a":1}`, true},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("y", 65), false},
		{strings.Repeat("z", 500), false},
	} {
		resp, err := http.Post("http://"+s.Addr()+"/x", "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("%v %s", tc.whole, tc.body); resp.StatusCode != 200 || string(b) != want {
			t.Errorf("body of %d bytes: %d %.40q..., want PreRead %v and the body", len(tc.body), resp.StatusCode, b, tc.whole)
		}
	}
}
