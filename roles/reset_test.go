package roles

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kubelite/config"
)

func TestSafeToWipe(t *testing.T) {
	home, _ := os.UserHomeDir()
	for _, tc := range []struct {
		dir string
		ok  bool
	}{
		{"/var/lib/kubelite", true},
		{"/home/alice/.kubelite", true},
		{"/", false},
		{"/var", false},
		{"relative/dir", false},
		{home, false},
	} {
		if err := safeToWipe(tc.dir); (err == nil) != tc.ok {
			t.Errorf("safeToWipe(%q) = %v, want ok=%v", tc.dir, err, tc.ok)
		}
	}
}

func standaloneAt(dir string) *config.Standalone {
	s := &config.Standalone{}
	s.Master.DataDir = filepath.Join(dir, "data")
	s.Minion.RootDir = filepath.Join(dir, "data", "kubelet")
	s.Minion.Runtime = "fake"
	s.Minion.ProxyMode = "none"
	return s
}

func TestResetAsksFirst(t *testing.T) {
	dir := t.TempDir()
	cfg := standaloneAt(dir)
	if err := os.MkdirAll(cfg.Minion.RootDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := Reset(context.Background(), cfg, Prompt{In: strings.NewReader("n\n"), Out: &out})
	if err == nil || !strings.Contains(err.Error(), "reset cancelled") {
		t.Fatalf("answer n: err = %v", err)
	}
	if !strings.Contains(out.String(), "delete "+cfg.Master.DataDir+". Continue? [y/N]") {
		t.Errorf("question = %q", out.String())
	}
	if _, err := os.Stat(cfg.Minion.RootDir); err != nil {
		t.Errorf("cancelled reset changed things: %v", err)
	}
	out.Reset()
	if err := Reset(context.Background(), cfg, Prompt{In: strings.NewReader("yes\n"), Out: &out}); err != nil {
		t.Fatalf("answer yes: %v", err)
	}
	if _, err := os.Stat(cfg.Master.DataDir); !os.IsNotExist(err) {
		t.Errorf("data dir still there: %v", err)
	}
	cfg.Yes = true
	if err := Reset(context.Background(), cfg, Prompt{}); err != nil {
		t.Errorf("--yes on nothing: %v", err)
	}
}
