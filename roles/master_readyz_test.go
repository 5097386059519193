package roles

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/testutil"
)

// TestReadyzFollowsEtcd: a master on an external etcd is ready while etcd
// answers; when etcd stops, /readyz (and /healthz, its old name) turn 503
// naming the etcd check, while /livez stays 200 (the process is fine: a
// restart would not help).
func TestReadyzFollowsEtcd(t *testing.T) {
	t.Parallel()
	srv := etcdtest.Start(t, "")
	m := testMaster(t, t.TempDir(), srv.Endpoints())
	runMaster(t, m)

	get := func(path string) (int, string) {
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + m.APIAddr() + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz?verbose"); code != 200 || !strings.Contains(body, "[+]etcd-0 ok") {
		t.Fatalf("/readyz with etcd up = %d %q", code, body)
	}

	srv.Stop()
	start := time.Now()
	testutil.Eventually(t, 15*time.Second, func() error {
		if code, body := get("/readyz?verbose"); code != 503 || !strings.Contains(body, "[-]etcd-0 failed") {
			return fmt.Errorf("%d %q", code, body)
		}
		return nil
	}, "/readyz not 503 naming etcd-0 after etcd stopped")
	t.Logf("/readyz turned 503 %s after etcd stopped", time.Since(start).Round(time.Millisecond))
	if code, _ := get("/healthz"); code != 503 {
		t.Errorf("/healthz with etcd down = %d, want 503", code)
	}
	if code, body := get("/livez"); code != 200 {
		t.Errorf("/livez with etcd down = %d %q, want 200", code, body)
	}
}
