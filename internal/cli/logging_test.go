package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"kubelite/config"
)

// etcd's "server closed" errors of a normal shutdown are not errors to a
// user: hidden at info level, debug lines at --v=1. Real errors stay.
func TestShutdownNoiseFilter(t *testing.T) {
	t.Cleanup(func() {
		logrus.SetOutput(nil)
		logrus.SetLevel(logrus.InfoLevel)
		logrus.SetFormatter(&logrus.TextFormatter{})
	})
	for _, v := range []int{0, 1} {
		var buf bytes.Buffer
		root, err := setupLogging(&buf, config.Logging{V: v})
		if err != nil {
			t.Fatal(err)
		}
		log := root.WithField("component", "etcd")
		log.WithField("error", "accept tcp 127.0.0.1:4001: http: Server closed").Error("setting up serving from embedded etcd failed.")
		log.Error("disk full")
		log.Warn("Running http and grpc server on single port. This is not recommended for production.")
		root.WithField("component", "apiserver").Warn("simple token is not cryptographically signed")
		log.Debug("debug detail")
		out := buf.String()
		if !strings.Contains(out, `level=error msg="disk full"`) {
			t.Errorf("v=%d: real error missing:\n%s", v, out)
		}
		noise := strings.Contains(out, "setting up serving") || strings.Contains(out, "single port")
		if !strings.Contains(out, `level=warning msg="simple token`) {
			t.Errorf("v=%d: a warning of another component was hidden:\n%s", v, out)
		}
		switch v {
		case 0:
			if noise || strings.Contains(out, "debug detail") {
				t.Errorf("v=0 shows debug or shutdown noise:\n%s", out)
			}
		case 1:
			if !strings.Contains(out, `level=debug msg="setting up serving`) || !strings.Contains(out, `level=debug msg="Running http`) || !strings.Contains(out, "debug detail") {
				t.Errorf("v=1: want the shutdown line as a debug line:\n%s", out)
			}
		}
		if strings.Count(out, "level=error") != 1 {
			t.Errorf("v=%d: error lines:\n%s", v, out)
		}
	}
}

// --log-format=json: the role's logger and the standard one write JSON
// objects; a bad format is an error.
func TestSetupLoggingJSON(t *testing.T) {
	t.Cleanup(func() {
		logrus.SetOutput(os.Stderr)
		logrus.SetLevel(logrus.InfoLevel)
		logrus.SetFormatter(&logrus.TextFormatter{})
	})
	var buf bytes.Buffer
	root, err := setupLogging(&buf, config.Logging{Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	root.WithField("component", "apiserver").Info("listening")
	logrus.WithField("component", "library").Warn("from the standard logger")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines:\n%s", buf.String())
	}
	for i, want := range []string{"apiserver", "library"} {
		var e map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &e); err != nil {
			t.Fatalf("line %q: %v", lines[i], err)
		}
		if e["component"] != want || e["time"] == nil || e["level"] == nil || e["msg"] == nil {
			t.Errorf("line %q: want time, level, msg and component %s", lines[i], want)
		}
	}
	if _, err := setupLogging(&buf, config.Logging{Format: "xml"}); err == nil || !strings.Contains(err.Error(), "text, json") {
		t.Errorf("format xml: error %v, want one naming text, json", err)
	}
}
