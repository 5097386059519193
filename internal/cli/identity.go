package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"kubelite/config"
	"kubelite/internal/endpoint"
	"kubelite/internal/kubeconfig"
	"kubelite/internal/pki"
)

// dataDirFlag is --data-dir of the commands that read a master's identity:
// the master's and standalone's default (~/.kubelite when not root).
func dataDirFlag(e *env) *ucli.StringFlag {
	def := config.DefaultDataDir
	if e.sys.UID != 0 && e.sys.Home != "" {
		def = filepath.Join(e.sys.Home, ".kubelite")
	}
	return &ucli.StringFlag{Name: "data-dir", Aliases: []string{"data_dir"}, Value: def, EnvVars: []string{"KUBELITE_DATA_DIR"},
		Usage: "the master's (or standalone's) --data-dir"}
}

// tokenCommand prints the join token minions need.
func tokenCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:     "token",
		Category: catTools,
		Usage:    "print the join token minions need (kubelite minion --token=...), on the master",
		Description: "The token pins the cluster's CA (K10<sha256 of the CA certificate>) and carries the join secret.\n" +
			"Put it in /etc/kubernetes/token on a minion, or pass --token or KUBELITE_TOKEN.\n" +
			"--rotate makes a new secret: minions that joined keep working, the old token joins no more.",
		Flags: []ucli.Flag{
			dataDirFlag(e),
			&ucli.BoolFlag{Name: "rotate", Usage: "make a new join secret and print the new token"},
			&ucli.BoolFlag{Name: "master", Usage: "the master token instead, for kubelite master --join (it hands over the CA: never give it to a minion)"},
		},
		Action: func(c *ucli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("kubelite token takes no arguments, got %q", c.Args().First())
			}
			dir := c.String("data-dir")
			read := pki.ReadToken
			if c.Bool("rotate") {
				read = pki.RotateToken
			}
			tok, err := read(dir, c.Bool("master"))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(e.stdout, tok)
			return err
		},
	}
}

// kubeconfigCommand prints the admin kubeconfig, for kubectl on another
// machine.
func kubeconfigCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:     "kubeconfig",
		Category: catTools,
		Usage:    "print the admin kubeconfig (for kubelite kubectl or today's kubectl), on the master",
		Description: "It holds the admin's bearer token: keep the file private (chmod 600).\n" +
			"--server sets the address other machines reach the API on, e.g. https://192.168.1.200:8080;\n" +
			"it must be one of the names or addresses of the API's certificate (add more with the master's --tls-san).",
		Flags: []ucli.Flag{
			dataDirFlag(e),
			&ucli.StringFlag{Name: "server", Usage: "the API's URL as the other machine reaches it (default: the master's own); a comma list of masters for kubelite's kubectl to fail over among"},
		},
		Action: func(c *ucli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("kubelite kubeconfig takes no arguments, got %q", c.Args().First())
			}
			path := filepath.Join(c.String("data-dir"), pki.AdminKubeconfigFile)
			kc, err := kubeconfig.Load(path)
			if err != nil {
				return fmt.Errorf("%w (start the master once to create it; --data-dir names another)", err)
			}
			if s := c.String("server"); s != "" {
				urls, err := endpoint.NormalizeList(s, "https")
				if err != nil {
					return fmt.Errorf("--server: %w", err)
				}
				for i := range kc.Clusters {
					kc.Clusters[i].Cluster.Server = strings.Join(urls, ",")
				}
			}
			b, err := kc.Marshal()
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(b)
			return err
		},
	}
}
