package cli

import (
	"encoding/json"
	"fmt"
	"os"
	rpprof "runtime/pprof"

	"github.com/sirupsen/logrus"
	ucli "github.com/urfave/cli/v2"

	"kubelite/config"
	"kubelite/internal/clock"
	"kubelite/internal/httpserve"
	"kubelite/internal/hugepage"
	"kubelite/internal/images"
	"kubelite/internal/kubectl"
	"kubelite/internal/logging"
	"kubelite/internal/memlimit"
	"kubelite/internal/runtime/docker"
	"kubelite/internal/testserver"
	"kubelite/internal/version"
	"kubelite/roles"
)

// Command categories in `kubelite --help`.
const (
	catRoles = "Roles"
	catTools = "Tools"
)

func masterCommand(e *env) *ucli.Command {
	cfg, flags := config.NewMaster()
	var cpuProfile string
	flags = append(flags, &ucli.StringFlag{Name: "cpuprofile", Hidden: true, Destination: &cpuProfile,
		Usage: "write a CPU profile of this process to FILE until it stops (kubelite bench --master-cpuprofiles)"})
	return &ucli.Command{
		Name:     "master",
		Category: catRoles,
		Usage:    "run the master: API server, scheduler, controllers (and etcd with --etcd-embed)",
		Description: "Reads config, apiserver, controller-manager and scheduler from --config-dir\n" +
			"(the tutorial's /etc/kubernetes files); command-line flags win over the files.\n" +
			"Example (the tutorial's master, 192.168.1.200): kubelite master --etcd-embed",
		Flags: flags,
		Action: roleAction(e, cfg.Load, &cfg.PrintConfig, &cfg.Logging, func(c *ucli.Context) error {
			applyMemoryLimit(c, cfg.MemoryLimitMB)
			adviseHugePages(c)
			stop, err := startCPUProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer stop()
			return roles.Master(c.Context, cfg)
		}),
	}
}

func minionCommand(e *env) *ucli.Command {
	cfg, flags := config.NewMinion()
	return &ucli.Command{
		Name:     "minion",
		Category: catRoles,
		Usage:    "run a minion: kubelet and service proxy, talking to the master's API",
		Description: "Reads config, kubelet and proxy from --config-dir (the tutorial's /etc/kubernetes\n" +
			"files); command-line flags win over the files.\n" +
			"Example (the tutorial's 192.168.1.201): kubelite minion --master=192.168.1.200:8080 --hostname_override=192.168.1.201",
		Flags: flags,
		Action: roleAction(e, cfg.Load, &cfg.PrintConfig, &cfg.Logging, func(c *ucli.Context) error {
			return roles.Minion(c.Context, cfg)
		}),
	}
}

func standaloneCommand(e *env) *ucli.Command {
	cfg, flags := config.NewStandalone()
	return &ucli.Command{
		Name:     "standalone",
		Category: catRoles,
		Usage:    "run a master, embedded etcd and one minion in one process on the local Docker Engine",
		Description: "A laptop cluster: the API listens on 127.0.0.1:8081 (8080 is left to the tutorial's apache pod)\n" +
			"unless --address/--port say otherwise; kubelite kubectl finds it without -s.\n" +
			"Takes every master flag and every minion flag; reads config files only with --config-dir.",
		Flags: flags,
		Action: roleAction(e, cfg.Load, &cfg.Master.PrintConfig, &cfg.Master.Logging, func(c *ucli.Context) error {
			if cfg.Reset {
				return roles.Reset(c.Context, cfg, roles.Prompt{In: e.stdin, Out: e.stdout})
			}
			if !cfg.Minion.CleanupIPTables { // cleans and exits: no memory to limit
				applyMemoryLimit(c, cfg.Master.MemoryLimitMB)
				adviseHugePages(c)
			}
			return roles.Standalone(c.Context, cfg, e.stdout)
		}),
	}
}

// roleAction is a role command's action: load the role's config (flags,
// environment, files), print it and stop with --print-config, else set up
// logging and run the role. The pointers are read after load fills them.
func roleAction(e *env, load func(*ucli.Context, config.System) ([]config.Setting, error),
	printConfig *bool, logCfg *config.Logging, run func(*ucli.Context) error) ucli.ActionFunc {
	return func(c *ucli.Context) error {
		ss, err := load(c, e.sys)
		if err != nil {
			return err
		}
		if *printConfig {
			_, err := fmt.Fprint(e.stdout, config.FormatSettings(ss))
			return err
		}
		log, err := setupLogging(e.stderr, *logCfg)
		if err != nil {
			return err
		}
		c.Context = logging.NewContext(c.Context, log)
		raiseFileLimit(log.WithField("component", "cli"))
		return run(c)
	}
}

// applyMemoryLimit sets the process's soft memory limit (internal/memlimit)
// and logs it: at info when the user chose it (flag or GOMEMLIMIT), at
// debug when it is the default, so that a start that fails at once (no
// Docker) still says one line.
func applyMemoryLimit(c *ucli.Context, flagMB int) {
	l := memlimit.Apply(flagMB)
	e := logging.FromContext(c.Context).WithField("component", "cli").
		WithFields(logrus.Fields{"limit_mb": l.Bytes >> 20, "source": l.Source})
	if l.Source == "--memory-limit-mb" || l.Source == "GOMEMLIMIT" {
		e.Info("memory limit")
		return
	}
	e.Debug("memory limit")
}

// adviseHugePages asks for huge pages under this process's heap for as
// long as the role runs (internal/hugepage): a master's heap is large and
// faulted in again after the runtime has returned part of it.
func adviseHugePages(c *ucli.Context) {
	go hugepage.Keep(c.Context, logging.FromContext(c.Context).WithField("component", "cli"))
}

// lowFileLimit is the open-file limit under which a role warns: the API's
// and the kubelet's connection caps are two fifths of it each (httpserve).
const lowFileLimit = 8192

// raiseFileLimit raises the soft open-file limit to the hard one before a
// role starts: the connection caps of the API and the kubelet are shares
// of it, and etcd exits on "too many open files". A failure is logged and
// the role runs with the limit it has.
func raiseFileLimit(log *logrus.Entry) {
	n, err := httpserve.RaiseFileLimit()
	switch {
	case err != nil:
		log.WithError(err).Warn("could not raise the open file limit")
	case n < lowFileLimit:
		log.Warnf("the open file limit is %d: the API takes at most %d connections; raise it (systemd: LimitNOFILE=1048576)", n, n*2/5)
	default:
		log.Debugf("open file limit %d", n)
	}
}

func kubectlCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:            "kubectl",
		Category:        catTools,
		Usage:           "the v0.6 CLI: get, describe, create, update, delete, version (also as a symlink named kubectl)",
		ArgsUsage:       "COMMAND [ARGS] (kubelite kubectl help)",
		SkipFlagParsing: true,
		// kubectl prints its own help: urfave's help subcommand would
		// answer `kubectl help` with an empty page and `help get` with exit 3.
		HideHelp:        true,
		HideHelpCommand: true,
		Action: func(c *ucli.Context) error {
			return kubectl.Run(c.Context, c.Args().Slice(), e.stdin, e.stdout, e.stderr)
		},
	}
}

func versionCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:     "version",
		Category: catTools,
		Usage:    "print kubelite's version",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "json", Usage: "print as JSON, the shape of the API's /version"},
		},
		Action: func(c *ucli.Context) error {
			v := version.Get()
			if c.Bool("json") {
				return json.NewEncoder(e.stdout).Encode(v)
			}
			_, err := fmt.Fprintf(e.stdout, "kubelite %s\n", v)
			return err
		},
	}
}

// pauseCommand is the pod infra container's process.
func pauseCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:   "pause",
		Hidden: true,
		Usage:  "sleep until SIGTERM or SIGINT (the pod infra container)",
		Action: func(c *ucli.Context) error {
			// Printed once main's signal handler is installed, as the /pause personality does.
			fmt.Fprintln(e.stdout, "pause: waiting for SIGTERM or SIGINT")
			return testserver.Pause(c.Context)
		},
	}
}

// webserverCommand is the test web server the example images run.
func webserverCommand(e *env) *ucli.Command {
	return &ucli.Command{
		Name:            "webserver",
		Hidden:          true,
		Usage:           "the test web server of the example images",
		SkipFlagParsing: true,
		Action: func(c *ucli.Context) error {
			cfg, err := testserver.ParseFlags(testserver.NameWebserver, c.Args().Slice(), e.stderr)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "webserver: serving on %s (version %q)\n", cfg.Addr, cfg.Version)
			cfg.AccessLog = e.stdout
			return testserver.Run(c.Context, cfg)
		},
	}
}

// imagesCommand builds the locally made images (pause, test web server, the
// tutorial's image names) from this very binary.
func imagesCommand(e *env) *ucli.Command {
	var endpoint string
	return &ucli.Command{
		Name:      "images",
		Hidden:    true,
		Usage:     "build kubelite's images (pause, webserver, the tutorial's images) on the local Docker Engine",
		ArgsUsage: "[IMAGE...]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "docker-endpoint", Aliases: []string{"docker_endpoint"}, Value: config.DefaultDockerEndpoint,
				EnvVars: []string{"KUBELITE_DOCKER_ENDPOINT", "DOCKER_HOST"}, Destination: &endpoint},
		},
		Action: func(c *ucli.Context) error {
			bin, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find own binary: %w", err)
			}
			names := c.Args().Slice()
			if len(names) == 0 {
				names = images.Names()
			}
			rt, err := docker.New(endpoint)
			if err != nil {
				return err
			}
			defer rt.Close()
			// One line per image as it is done: a cold build takes seconds.
			report := func(b images.Built) { fmt.Fprintln(e.stdout, b.String()) }
			if err := images.BuildEach(c.Context, rt, bin, clock.Real{}, report, names...); err != nil {
				return fmt.Errorf("build images: %w", err)
			}
			return nil
		},
	}
}

// startCPUProfile writes a CPU profile of this process to file (nothing
// when file is empty) until the returned stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := rpprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", file, err)
	}
	return func() { rpprof.StopCPUProfile(); f.Close() }, nil
}
