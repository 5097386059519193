package roles

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/config"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/docker"
)

// Prompt asks the user a yes/no question.
type Prompt struct {
	In  io.Reader
	Out io.Writer
}

// Confirm prints q and reports whether the answer is y or yes.
func (p Prompt) Confirm(q string) bool {
	if p.In == nil || p.Out == nil {
		return false
	}
	fmt.Fprintf(p.Out, "%s [y/N] ", q)
	line, _ := bufio.NewReader(p.In).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

// safeToWipe refuses paths whose removal would clearly hurt: the root, a
// top-level directory, the home directory.
func safeToWipe(dir string) error {
	clean := filepath.Clean(dir)
	if !filepath.IsAbs(clean) {
		return fmt.Errorf("refusing to wipe %q: not an absolute path", dir)
	}
	if strings.Count(clean, string(filepath.Separator)) < 2 {
		return fmt.Errorf("refusing to wipe %s: too close to /", clean)
	}
	if home, err := os.UserHomeDir(); err == nil && filepath.Clean(home) == clean {
		return fmt.Errorf("refusing to wipe the home directory %s", clean)
	}
	return nil
}

// Reset wipes a standalone cluster: every kubelite-managed container on its
// Docker Engine, then its data and root directories. It asks first unless
// cfg.Yes.
func Reset(ctx context.Context, cfg *config.Standalone, p Prompt) error {
	dirs := []string{cfg.Master.DataDir}
	if rel, err := filepath.Rel(cfg.Master.DataDir, cfg.Minion.RootDir); err != nil || strings.HasPrefix(rel, "..") {
		dirs = append(dirs, cfg.Minion.RootDir)
	}
	for _, d := range dirs {
		if err := safeToWipe(d); err != nil {
			return err
		}
	}
	what := "delete " + strings.Join(dirs, " and ")
	if cfg.Minion.Runtime == "docker" {
		what = "remove every kubelite container on " + cfg.Minion.DockerEndpoint + " and " + what
	}
	if !cfg.Yes && !p.Confirm("This will "+what+". Continue?") {
		return errors.New("reset cancelled (nothing changed); --yes skips the question")
	}
	log := logrus.WithField("component", "reset")
	if cfg.Minion.Runtime == "docker" {
		n, err := removeContainers(ctx, cfg.Minion.DockerEndpoint)
		if err != nil {
			return err
		}
		log.Infof("removed %d containers", n)
	}
	if cfg.Minion.ProxyMode != "none" {
		if err := CleanupIPTables(); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		log.Info("removed the proxy's iptables rules")
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		log.Infof("deleted %s", d)
	}
	return nil
}

func removeContainers(ctx context.Context, endpoint string) (int, error) {
	rt, err := docker.New(endpoint)
	if err != nil {
		return 0, fmt.Errorf("reset: %w", err)
	}
	defer rt.Close()
	list, err := rt.List(ctx, runtime.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("reset: list containers: %w", err)
	}
	for _, c := range list {
		if err := rt.Stop(ctx, c.ID, 2*time.Second); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return 0, fmt.Errorf("reset: stop %s: %w", c.Name, err)
		}
		if err := rt.Remove(ctx, c.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return 0, fmt.Errorf("reset: remove %s: %w", c.Name, err)
		}
	}
	return len(list), nil
}
