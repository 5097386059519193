package roles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/config"
	"kubelite/internal/component"
	"kubelite/internal/etcd"
	"kubelite/internal/logging"
	"kubelite/internal/masterjoin"
	"kubelite/internal/pki"
)

// etcdMemberFile, under the data dir, records this master's etcd member
// name and the cluster it joined (masterjoin): written by the join, read at
// every start.
const etcdMemberFile = "etcd-member.json"

type etcdMember struct {
	Name           string `json:"name"`
	InitialCluster string `json:"initialCluster"`
}

// joinCluster runs `kubelite master --etcd-embed --join=HOST:PORT
// --token=K10...` before anything else: unless this data dir already holds
// etcd data (a restart), it asks the running master to add this master's
// etcd member, and writes the cluster identity it hands over and the member
// file. A data dir with an identity of its own is refused: joining would
// replace it.
func joinCluster(ctx context.Context, cfg *config.Master) error {
	if cfg.Join == "" {
		return nil
	}
	log := logging.FromContext(ctx).WithField("component", "master")
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "etcd", "member")); err == nil {
		log.Info("--join: this data dir already holds the cluster's data; starting as a member")
		return nil
	}
	if m, err := readMember(cfg.DataDir); err != nil || m != nil {
		// Joined before, and its member never started (etcd failed): start it.
		return err
	}
	if _, err := os.Stat(filepath.Join(pki.PKIDir(cfg.DataDir), pki.CACertFile)); err == nil {
		return fmt.Errorf("--join: %s already holds a cluster identity of its own; a joining master needs an empty --data-dir", cfg.DataDir)
	}
	name := memberName(cfg)
	peer := peerURL(cfg)
	start := time.Now()
	resp, err := masterjoin.Join(ctx, masterjoin.JoinRequest{Master: cfg.Join, Token: cfg.JoinToken, Name: name, PeerURL: peer})
	if err != nil {
		return fmt.Errorf("--join %s: %w", cfg.Join, err)
	}
	if err := masterjoin.WriteFiles(cfg.DataDir, resp.Files); err != nil {
		return err
	}
	b, _ := json.Marshal(etcdMember{Name: name, InitialCluster: resp.InitialCluster})
	if err := os.WriteFile(filepath.Join(cfg.DataDir, etcdMemberFile), b, 0o600); err != nil {
		return fmt.Errorf("--join: %w", err)
	}
	log.WithFields(logrus.Fields{"master": cfg.Join, "member": name, "took": time.Since(start).Round(time.Millisecond)}).
		Info("joined the cluster: etcd member added, cluster identity received")
	return nil
}

// readMember returns the member file of the data dir (nil: none, this
// master founded its cluster).
func readMember(dataDir string) (*etcdMember, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, etcdMemberFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("etcd member file: %w", err)
	}
	var m etcdMember
	if err := json.Unmarshal(b, &m); err != nil || m.Name == "" {
		return nil, fmt.Errorf("etcd member file %s is damaged: %v", filepath.Join(dataDir, etcdMemberFile), err)
	}
	return &m, nil
}

var notName = regexp.MustCompile(`[^a-z0-9-]+`)

// memberName is this master's etcd member name: its host name and peer
// port ("node-2-7001"), unique among masters.
func memberName(cfg *config.Master) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "master"
	}
	host = strings.Trim(notName.ReplaceAllString(strings.ToLower(host), "-"), "-")
	_, port, _ := net.SplitHostPort(cfg.EtcdPeerAddr)
	n := host + "-" + port
	if len(n) > 63 {
		n = n[len(n)-63:]
	}
	return strings.Trim(n, "-.")
}

// peerURL is the peer URL others reach this master's etcd on: https off
// loopback (peers authenticate with certificates of the cluster's CA).
func peerURL(cfg *config.Master) string {
	addr := cfg.EtcdPeerAddr
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	if etcd.IsLoopback(cfg.EtcdPeerAddr) {
		return "http://" + addr
	}
	return "https://" + addr
}

// peerCerts issues the embedded etcd's peer certificate (for the peer
// address and this host, client and server use) from the cluster's CA into
// DATA-DIR/pki.
func peerCerts(id *pki.Identity, addr string) (*etcd.TLSFiles, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--etcd-peer-addr: %w", err)
	}
	kp, err := id.CA.Issue("kubelite:etcd-peer", nil, append([]string{host, "127.0.0.1", "localhost"}, hostNames(host)...), pki.ServerAuth|pki.ClientAuth, time.Now())
	if err != nil {
		return nil, err
	}
	dir := pki.PKIDir(id.Dir)
	files := &etcd.TLSFiles{CertFile: filepath.Join(dir, "etcd-peer.crt"), KeyFile: filepath.Join(dir, "etcd-peer.key"), CAFile: filepath.Join(dir, pki.CACertFile)}
	for path, data := range map[string][]byte{files.CertFile: kp.CertPEM, files.KeyFile: kp.KeyPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("etcd peer certificates: %w", err)
		}
	}
	return files, nil
}

// masterJoinServer is the running master's side of masterjoin: the master
// token read at every request, the member added by addMember (through this
// master's etcd client).
func masterJoinServer(log *logrus.Entry, dataDir string, addMember func(ctx context.Context, name, peer string) (string, error)) *masterjoin.Server {
	return &masterjoin.Server{
		Log: log,
		Secret: func() string {
			t, err := pki.ReadToken(dataDir, true)
			if err != nil {
				return ""
			}
			tok, err := pki.ParseToken(t)
			if err != nil {
				return ""
			}
			return tok.Secret
		},
		AddMember: func(ctx context.Context, name, peer string) (string, error) {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			return addMember(ctx, name, peer)
		},
		Files: func() (map[string][]byte, error) { return masterjoin.ReadFiles(dataDir) },
	}
}

// checkRestore refuses --restore unless the data dir is new to etcd and
// holds the cluster's identity (copied from the old master: the snapshot
// holds the objects, not the CA and tokens). It reports whether to restore.
func checkRestore(log *logrus.Entry, cfg *config.Master) (bool, error) {
	if cfg.Restore == "" {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, "etcd", "member")); err == nil {
		log.Info("--restore: this data dir already holds etcd data (restored before); starting on it")
		return false, nil
	}
	if _, err := os.Stat(cfg.Restore); err != nil {
		return false, fmt.Errorf("--restore: %w", err)
	}
	if !cfg.Insecure {
		if _, err := os.Stat(filepath.Join(pki.PKIDir(cfg.DataDir), pki.CACertFile)); err != nil {
			return false, fmt.Errorf("--restore: %s holds no cluster identity: copy the old master's DATA-DIR/pki there first, so minions and kubectl keep trusting the cluster", cfg.DataDir)
		}
	}
	return true, nil
}

// restoreComponent fills the new etcd from the snapshot before the
// registry and the API use it.
func restoreComponent(log *logrus.Entry, file string, restore func(ctx context.Context) (int, error)) component.Component {
	return component.Func{N: "etcd-restore", F: func(ctx context.Context, started func()) error {
		n, err := restore(ctx)
		if err != nil {
			return err
		}
		log.WithFields(logrus.Fields{"file": file, "keys": n}).Info("restored the cluster from the snapshot")
		started()
		<-ctx.Done()
		return nil
	}}
}
