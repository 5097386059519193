package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"kubelite/config"
	"kubelite/internal/auth"
	"kubelite/internal/etcd"
	"kubelite/internal/pki"
)

// etcdCommand is `kubelite etcd members|remove|snapshot save`: the masters'
// embedded etcd, from a master host (its etcd client address; off loopback
// with a client certificate issued from the CA in --data-dir).
func etcdCommand(e *env) *ucli.Command {
	flags := func() []ucli.Flag {
		return []ucli.Flag{
			dataDirFlag(e),
			&ucli.StringFlag{Name: "etcd-addr", Value: config.DefaultEtcdAddr, EnvVars: []string{"KUBELITE_ETCD_ADDR"},
				Usage: "client host:port of this master's embedded etcd"},
			&ucli.DurationFlag{Name: "timeout", Value: 30 * time.Second, Usage: "give up after this long (a removal tries again while etcd elects a leader)"},
		}
	}
	return &ucli.Command{
		Name:     "etcd",
		Category: catTools,
		Usage:    "the masters' etcd cluster: members, remove NAME, snapshot save FILE (on a master)",
		Subcommands: []*ucli.Command{
			{
				Name:  "members",
				Usage: "list the etcd members with their health; * marks etcd's leader, and the master running the scheduler and controllers is named",
				Flags: flags(),
				Action: func(c *ucli.Context) error {
					return withEtcd(c, func(ctx context.Context, cli *etcd.Client) error {
						members, err := etcd.Members(ctx, cli)
						if err != nil {
							return err
						}
						w := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
						fmt.Fprintln(w, "NAME\tPEER URL\tCLIENT URL\tHEALTH")
						for _, m := range members {
							name, health := m.Name, "healthy"
							if name == "" {
								name = "(not started)"
							}
							if m.Leader {
								name += " *"
							}
							if !m.Healthy {
								health = "unhealthy: " + m.Err
							}
							fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", name, strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ","), health)
						}
						if err := w.Flush(); err != nil {
							return err
						}
						el, err := etcd.NewElection(cli, etcd.ElectionConfig{Identity: "kubelite etcd members"})
						if err != nil {
							return err
						}
						leader, err := el.Leader(ctx)
						switch {
						case err != nil:
							leader = "unknown (" + err.Error() + ")"
						case leader == "":
							leader = "none"
						}
						_, err = fmt.Fprintf(e.stdout, "scheduler and controllers run on: %s\n", leader)
						return err
					})
				},
			},
			{
				Name:      "remove",
				Usage:     "remove the etcd member NAME (a master that is gone for good; wipe its data dir before it joins again)",
				ArgsUsage: "NAME",
				Flags:     flags(),
				Action: func(c *ucli.Context) error {
					if c.NArg() != 1 {
						return fmt.Errorf("kubelite etcd remove takes one member name (see kubelite etcd members)%s", flagsLast(c))
					}
					return withEtcd(c, func(ctx context.Context, cli *etcd.Client) error {
						if err := etcd.RemoveMember(ctx, cli, c.Args().First()); err != nil {
							return err
						}
						_, err := fmt.Fprintf(e.stdout, "removed etcd member %s\n", c.Args().First())
						return err
					})
				},
			},
			{
				Name:  "snapshot",
				Usage: "snapshot save FILE: write a snapshot of the etcd database to FILE",
				Subcommands: []*ucli.Command{{
					Name:      "save",
					Usage:     "write a snapshot of the etcd database to FILE (0600)",
					ArgsUsage: "FILE",
					Flags:     flags(),
					Action: func(c *ucli.Context) error {
						if c.NArg() != 1 {
							return fmt.Errorf("kubelite etcd snapshot save takes one file name%s", flagsLast(c))
						}
						path := c.Args().First()
						return withEtcd(c, func(ctx context.Context, cli *etcd.Client) error {
							tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
							if err != nil {
								return fmt.Errorf("snapshot: %w", err)
							}
							defer os.Remove(tmp.Name())
							n, err := etcd.SaveSnapshot(ctx, cli, tmp)
							if err == nil {
								err = tmp.Sync()
							}
							if cerr := tmp.Close(); err == nil {
								err = cerr
							}
							if err == nil {
								err = os.Rename(tmp.Name(), path)
							}
							if err != nil {
								return fmt.Errorf("snapshot: %w", err)
							}
							_, err = fmt.Fprintf(e.stdout, "saved a snapshot of %d bytes to %s\n", n, path)
							return err
						})
					},
				}},
			},
		},
	}
}

// flagsLast explains an argument that is a flag: flags after the first
// argument are read as arguments (`kubelite etcd remove NAME --data-dir=D`).
func flagsLast(c *ucli.Context) string {
	for _, a := range c.Args().Slice() {
		if strings.HasPrefix(a, "-") {
			return fmt.Sprintf("; %s is taken as an argument: put the flags before it", a)
		}
	}
	return ""
}

// withEtcd runs f with a client of --etcd-addr, within --timeout.
func withEtcd(c *ucli.Context, f func(ctx context.Context, cli *etcd.Client) error) error {
	if c.NArg() > 1 {
		return fmt.Errorf("too many arguments: %q", c.Args().Slice())
	}
	addr := c.String("etcd-addr")
	var tc *tls.Config
	scheme := "http://"
	if !etcd.IsLoopback(addr) {
		var err error
		if tc, err = etcdClientTLS(c.String("data-dir")); err != nil {
			return err
		}
		scheme = "https://"
	}
	cli, err := etcd.NewClient([]string{scheme + addr}, tc)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(c.Context, c.Duration("timeout"))
	defer cancel()
	return f(ctx, cli)
}

// etcdClientTLS issues a short-lived client certificate of the master from
// the CA in dataDir (readable by root on a master host).
func etcdClientTLS(dataDir string) (*tls.Config, error) {
	dir := pki.PKIDir(dataDir)
	certPEM, err := os.ReadFile(filepath.Join(dir, pki.CACertFile))
	if err != nil {
		return nil, fmt.Errorf("etcd off loopback needs the cluster's CA: %w (run on a master, as root, with its --data-dir)", err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, pki.CAKeyFile))
	if err != nil {
		return nil, fmt.Errorf("etcd off loopback needs the cluster's CA: %w (run on a master, as root, with its --data-dir)", err)
	}
	ca, err := pki.ParseCA(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	kp, err := ca.Issue(auth.MasterUser, nil, nil, pki.ClientAuth, time.Now())
	if err != nil {
		return nil, err
	}
	cert, err := kp.TLS()
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
