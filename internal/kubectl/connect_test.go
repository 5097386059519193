package kubectl

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/store/memory"
)

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func runHTTP(args ...string) (string, error) {
	var out, errb bytes.Buffer
	r := &Runner{Stdout: &out, Stderr: &errb, Connect: ConnectHTTP, Getenv: func(string) string { return "" }}
	err := r.Run(context.Background(), args)
	return out.String(), err
}

var portRE = regexp.MustCompile(`127\.0\.0\.1:\d+`)

// With no API server, kubectl says which addresses it tried, why each
// failed and what to check (golden, ports replaced).
func TestNoServerMessages(t *testing.T) {
	var b strings.Builder
	for _, args := range [][]string{
		{"-s", deadAddr(t), "get", "pods"},
		{"-s", deadAddr(t) + "," + deadAddr(t), "get", "minions"},
		{"-s", deadAddr(t), "version"},
	} {
		_, err := runHTTP(args...)
		var ns *NoServerError
		if err == nil || !asNoServer(err, &ns) {
			t.Fatalf("kubectl %s: %v (%T), want a NoServerError", strings.Join(args, " "), err, err)
		}
		for _, a := range strings.Split(args[1], ",") {
			if !strings.Contains(err.Error(), a) {
				t.Errorf("kubectl %s: %q does not name %s", strings.Join(args, " "), err, a)
			}
		}
		b.WriteString("$ kubectl " + portRE.ReplaceAllString(strings.Join(args, " "), "127.0.0.1:PORT") + "\n")
		b.WriteString(portRE.ReplaceAllString(err.Error(), "127.0.0.1:PORT") + "\n")
	}
	golden(t, "no_server", b.String())
}

func asNoServer(err error, target **NoServerError) bool {
	for err != nil {
		if ns, ok := err.(*NoServerError); ok {
			*target = ns
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// -s m1,m2: with m1 dead every command goes to m2; an answer of a server
// (404) is not a connection error.
func TestKubectlFailsOver(t *testing.T) {
	backing := memory.New()
	srv, err := apiserver.New(apiserver.Config{Store: backing})
	if err != nil {
		t.Fatal(err)
	}
	live := httptest.NewServer(srv.Handler())
	defer live.Close()
	if _, err := backing.Create(context.Background(), &api.Minion{TypeMeta: api.TypeMeta{ID: "n1"}, HostIP: "10.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	servers := deadAddr(t) + "," + live.URL
	out, err := runHTTP("-s", servers, "get", "minions")
	if err != nil || !strings.Contains(out, "n1") {
		t.Fatalf("get minions with the first master dead: %q %v", out, err)
	}
	_, err = runHTTP("-s", servers, "get", "pod", "nope")
	var ns *NoServerError
	if err == nil || asNoServer(err, &ns) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("get a missing pod: %v, want the server's not found", err)
	}
}
