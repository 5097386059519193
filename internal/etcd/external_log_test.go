package etcd_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/etcd"
	"kubelite/internal/etcd/etcdtest"
	"kubelite/internal/logging"
)

// A master waiting for an external etcd that does not answer says so after
// the first try (a health read times out in 2 s), naming the endpoints and
// what to check, then again every few seconds, instead of waiting in
// silence.
func TestExternalWaitWarns(t *testing.T) {
	t.Parallel()
	url := "http://" + etcdtest.FreeAddr(t)
	cli, err := etcd.NewClient([]string{url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	l, buf := logging.Capture(t, logging.Text)
	l.SetLevel(logrus.InfoLevel)
	x := &etcd.External{Client: cli, Timeout: 7 * time.Second, Log: l.WithField("component", "etcd-client")}
	err = x.Run(context.Background(), func() { t.Error("started") })
	if err == nil || !strings.Contains(err.Error(), "not ready") {
		t.Fatalf("Run: %v, want not ready", err)
	}
	lines := buf.Lines()
	if len(lines) < 2 {
		t.Fatalf("lines:\n%s\nwant a warning after the first try (2 s) and another within 7 s", buf)
	}
	first := `level=warning msg="reach etcd at ` + url + ` failed: etcd health: `
	if !strings.Contains(lines[0], first) || !strings.Contains(lines[0], "; check: does etcd run there") || !strings.Contains(lines[0], "component=etcd-client") {
		t.Errorf("first line:\n%s\nwant it to hold %s, the check and the component", lines[0], first)
	}
	for _, line := range lines[1:] {
		if !strings.Contains(line, `level=warning msg="reach etcd at `+url+` failing since `) {
			t.Errorf("line:\n%s\nwant a 'failing since' warning", line)
		}
	}
}
