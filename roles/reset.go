package roles

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/config"
	"kubelite/internal/api"
	"kubelite/internal/etcd"
	"kubelite/internal/kubelet"
	"kubelite/internal/logging"
	"kubelite/internal/netfilter"
	"kubelite/internal/runtime"
	"kubelite/internal/runtime/docker"
	"kubelite/internal/store"
	storeetcd "kubelite/internal/store/etcd"
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

// Reset wipes a standalone cluster: the containers of its pods (read from
// its own etcd, so containers of other kubelites on the same engine stay),
// the proxy's iptables rules, then its data and root directories. It asks
// first unless cfg.Yes. The cluster must not be running.
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
	uids, err := podUIDs(ctx, cfg)
	if err != nil {
		return err
	}
	what := []string{}
	if cfg.Minion.Runtime == "docker" {
		what = append(what, fmt.Sprintf("remove the containers of %d pods from %s", len(uids), cfg.Minion.DockerEndpoint))
	}
	if cfg.Minion.ProxyMode != "none" {
		what = append(what, "remove the proxy's iptables rules")
	}
	if cfg.Minion.Network == "bridge" {
		what = append(what, "remove the pod network's routes and rules (and its Docker network when no other pod uses it)")
	}
	what = append(what, "delete "+strings.Join(dirs, " and "))
	if !cfg.Yes && !p.Confirm("This will "+strings.Join(what, ", ")+". Continue?") {
		return errors.New("reset cancelled (nothing changed); --yes skips the question")
	}
	log := logging.FromContext(ctx).WithField("component", "reset")
	if cfg.Minion.Runtime == "docker" && len(uids) > 0 {
		n, err := removeContainers(ctx, cfg.Minion.DockerEndpoint, uids)
		if err != nil {
			return err
		}
		log.Infof("removed %d containers of %d pods", n, len(uids))
	}
	if cfg.Minion.ProxyMode != "none" {
		if err := CleanupIPTables(); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		log.Info("removed the proxy's iptables rules")
	}
	if cfg.Minion.Network == "bridge" {
		nf, err := netfilter.New()
		if err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		if err := TeardownPodNetwork(ctx, nf, cfg.Minion.ClusterCIDR); err != nil {
			return fmt.Errorf("reset: pod network: %w", err)
		}
		log.Info("removed the pod network's routes and rules")
		if cfg.Minion.Runtime == "docker" {
			removePodNetwork(ctx, cfg.Minion.DockerEndpoint, log)
		}
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("reset: %w", err)
		}
		log.Infof("deleted %s", d)
	}
	return nil
}

// removePodNetwork removes the kubelet's Docker network for pods; it stays,
// with a warning, while containers of another kubelet on the engine use it.
func removePodNetwork(ctx context.Context, endpoint string, log *logrus.Entry) {
	rt, err := docker.New(endpoint)
	if err != nil {
		log.WithError(err).Warn("keeping the pods' Docker network")
		return
	}
	defer rt.Close()
	if err := rt.RemoveNetwork(ctx, kubelet.DefaultPodNetwork); err != nil {
		log.WithError(err).Warn("keeping the pods' Docker network")
		return
	}
	log.Infof("removed the Docker network %s (if it was there)", kubelet.DefaultPodNetwork)
}

// podUIDs starts the standalone's etcd from its data directory (on its
// usual ports: a running cluster makes this fail with the port named) and
// returns the uids of every pod stored there. No data directory: none.
func podUIDs(ctx context.Context, cfg *config.Standalone) ([]string, error) {
	m := &cfg.Master
	if _, err := os.Stat(filepath.Join(m.DataDir, "etcd")); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err := checkPorts(net.Listen, masterPorts(m)); err != nil {
		return nil, fmt.Errorf("reset: is kubelite standalone still running? stop it first (%w)", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	emb := etcd.NewEmbedded(etcd.Config{DataDir: m.DataDir, ClientAddr: m.EtcdAddr, PeerAddr: m.EtcdPeerAddr})
	done := make(chan error, 1)
	go func() { done <- emb.Run(ctx, func() {}) }()
	defer func() { cancel(); <-done }()
	select {
	case <-emb.Ready():
	case err := <-done:
		done <- err
		return nil, fmt.Errorf("reset: read %s: %w", m.DataDir, err)
	}
	cli, err := etcd.NewClient(emb.Endpoints(), nil)
	if err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	defer cli.Close()
	pods, _, err := storeetcd.New(cli).List(ctx, api.Pods, store.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("reset: list pods: %w", err)
	}
	var uids []string
	for _, o := range pods {
		if uid := o.Meta().UID; uid != "" {
			uids = append(uids, uid)
		}
	}
	return uids, nil
}

// removeContainers stops and removes every container of the pods uids.
func removeContainers(ctx context.Context, endpoint string, uids []string) (int, error) {
	rt, err := docker.New(endpoint)
	if err != nil {
		return 0, fmt.Errorf("reset: %w", err)
	}
	defer rt.Close()
	n := 0
	for _, uid := range uids {
		list, err := rt.List(ctx, runtime.ListOptions{PodUID: uid})
		if err != nil {
			return n, fmt.Errorf("reset: list containers: %w", err)
		}
		for _, c := range list {
			if err := rt.Stop(ctx, c.ID, 2*time.Second); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				return n, fmt.Errorf("reset: stop %s: %w", c.Name, err)
			}
			if err := rt.Remove(ctx, c.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
				return n, fmt.Errorf("reset: remove %s: %w", c.Name, err)
			}
			n++
		}
	}
	return n, nil
}
