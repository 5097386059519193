package testutil

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPingDockerUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "d.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_ping" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("OK"))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := PingDocker(ctx, "unix://"+sock); err != nil {
		t.Fatalf("ping fake engine: %v", err)
	}
	if err := PingDocker(ctx, "unix://"+filepath.Join(dir, "absent.sock")); err == nil {
		t.Fatal("ping of an absent socket succeeded")
	}
	if err := PingDocker(ctx, "ftp://x"); err == nil {
		t.Fatal("ping of an unsupported scheme succeeded")
	}
}

func TestMissingFailsWithoutSkipEnv(t *testing.T) {
	t.Setenv(SkipSystemEnv, "")
	ft := &fakeTB{}
	func() {
		defer func() { recover() }()
		missing(ft, "need %s", "x")
	}()
	if !ft.failed || ft.skipped {
		t.Fatalf("missing() without %s: failed=%v skipped=%v, want failed", SkipSystemEnv, ft.failed, ft.skipped)
	}
	t.Setenv(SkipSystemEnv, "1")
	ft = &fakeTB{}
	func() {
		defer func() { recover() }()
		missing(ft, "need %s", "x")
	}()
	if !ft.skipped || ft.failed {
		t.Fatalf("missing() with %s=1: failed=%v skipped=%v, want skipped", SkipSystemEnv, ft.failed, ft.skipped)
	}
}

func TestBuildBinaryTestdataMain(t *testing.T) {
	p := BuildBinary(t, "./internal/testutil/testdata/hello")
	if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("built binary %s: %v", p, err)
	}
	if p2 := BuildBinary(t, "./internal/testutil/testdata/hello"); p2 != p {
		t.Fatalf("second build gave %s, want cached %s", p2, p)
	}
}

// fakeTB records Fatal/Skip; it embeds testing.TB to satisfy the interface.
type fakeTB struct {
	testing.TB
	failed, skipped bool
}

type stop struct{}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; panic(stop{}) }
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true; panic(stop{}) }
