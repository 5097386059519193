package testutil

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
)

// SkipSystemEnv names the variable that turns system-requirement failures into skips.
const SkipSystemEnv = "KUBELITE_SKIP_SYSTEM"

// UnitEnv names the variable that selects the unit tier (make test-unit):
// every test that needs root, Docker, iptables or a network namespace skips,
// whether or not the machine has them.
const UnitEnv = "KUBELITE_UNIT"

// Unit reports whether this is a unit-tier run (KUBELITE_UNIT=1).
func Unit() bool { return os.Getenv(UnitEnv) == "1" }

// SystemTest marks t as a system test: in the unit tier it skips t with a
// message; otherwise it does nothing and the Require* checks that follow
// decide. Every Require* helper calls it first.
func SystemTest(t testing.TB, needs string) {
	t.Helper()
	if Unit() {
		t.Skipf("system test (needs %s): not in the unit tier (%s=1)", needs, UnitEnv)
	}
}

// skipSystem reports whether the developer asked to skip system tests.
func skipSystem() bool { return os.Getenv(SkipSystemEnv) == "1" }

// missing fails t, or skips it when KUBELITE_SKIP_SYSTEM=1.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if skipSystem() {
		t.Skipf("%s (skipped: %s=1)", msg, SkipSystemEnv)
	}
	t.Fatalf("%s (set %s=1 to skip on a developer machine)", msg, SkipSystemEnv)
}

// DockerHost is the endpoint tests use: $DOCKER_HOST or the default socket.
func DockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return api.DefaultDockerEndpoint
}

// dockerClient returns an HTTP client and base URL for the engine at endpoint.
func dockerClient(endpoint string) (*http.Client, string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, "", fmt.Errorf("parse docker endpoint %q: %w", endpoint, err)
	}
	tr := &http.Transport{}
	base := "http://docker"
	switch u.Scheme {
	case "unix":
		path := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
	case "tcp", "http":
		base = "http://" + u.Host
	default:
		return nil, "", fmt.Errorf("docker endpoint %q: unsupported scheme", endpoint)
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}, base, nil
}

// PingDocker checks that the engine at endpoint answers /_ping.
func PingDocker(ctx context.Context, endpoint string) error {
	c, base, err := dockerClient(endpoint)
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_ping", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("ping docker at %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ping docker at %s: status %s", endpoint, resp.Status)
	}
	return nil
}

// RequireDocker fails t when the Docker Engine is unreachable (skips only
// under KUBELITE_SKIP_SYSTEM=1).
func RequireDocker(t testing.TB) {
	t.Helper()
	SystemTest(t, "docker")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := PingDocker(ctx, DockerHost()); err != nil {
		missing(t, "docker engine required: %v", err)
	}
}

// RequireRoot fails t when not running as root (skips only under KUBELITE_SKIP_SYSTEM=1).
func RequireRoot(t testing.TB) {
	t.Helper()
	SystemTest(t, "root")
	if os.Geteuid() != 0 {
		missing(t, "root required (euid %d)", os.Geteuid())
	}
}

// ModuleRoot returns the directory holding the module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside a go module")
	}
	return filepath.Dir(mod), nil
}

type built struct {
	once sync.Once
	path string
	err  error
}

var (
	buildMu sync.Mutex
	builds  = map[string]*built{}
)

// BuildBinary builds the main package pkg (a path relative to the module
// root, e.g. "." or "./internal/x/testdata/cmd") with CGO_ENABLED=0, once per
// test process, and returns the binary's path. The binary lives in a cache
// directory of this user under os.TempDir, replaced (never rewritten in
// place) when a process builds a newer one; a process whose sources match
// the cached binary's build ID reuses it without linking.
func BuildBinary(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	b, ok := builds[pkg]
	if !ok {
		b = &built{}
		builds[pkg] = b
	}
	buildMu.Unlock()
	b.once.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			b.err = err
			return
		}
		// One cache directory per user, module and package, shared by every
		// test process of that user and reused run after run (nothing piles
		// up in /tmp; another user's directory is never written). Each
		// process builds to a temporary name and renames it into place, so a
		// binary another process is running is never overwritten in place.
		sum := sha256.Sum256([]byte(root + "\x00" + pkg))
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("kubelite-testbin-%d", os.Getuid()), hex.EncodeToString(sum[:8]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.err = fmt.Errorf("binary cache dir: %w", err)
			return
		}
		tmp, err := os.CreateTemp(dir, "build-*")
		if err != nil {
			b.err = fmt.Errorf("binary cache dir: %w", err)
			return
		}
		tmp.Close()
		// Start from the binary an earlier process built: go build finds
		// its build ID current and does not link again (linking kubelite
		// is seconds of CPU in every package that runs it).
		if err := copyFile(filepath.Join(dir, "kubelite"), tmp.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			os.Remove(tmp.Name())
			b.err = fmt.Errorf("binary cache: %w", err)
			return
		}
		cmd := exec.Command("go", "build", "-o", tmp.Name(), pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			os.Remove(tmp.Name())
			b.err = fmt.Errorf("go build %s: %w: %s", pkg, err, stderr.String())
			return
		}
		out := filepath.Join(dir, "kubelite")
		if err := os.Rename(tmp.Name(), out); err != nil {
			os.Remove(tmp.Name())
			b.err = fmt.Errorf("install test binary: %w", err)
			return
		}
		b.path = out
	})
	if b.err != nil {
		t.Fatalf("build binary: %v", b.err)
	}
	return b.path
}

// KubeliteBinary builds the kubelite binary (the module root's main package)
// once per test process and returns its path.
func KubeliteBinary(t testing.TB) string {
	t.Helper()
	return BuildBinary(t, ".")
}

// ImageBinary builds a small static binary carrying only the image
// personalities (pause, webserver, httpd, supervisord, sh; see
// internal/testserver) once per test process. Tests build their images from
// it: it behaves as the kubelite binary does under those names.
func ImageBinary(t testing.TB) string {
	t.Helper()
	return BuildBinary(t, "./internal/testserver/testdata/imagebin")
}
