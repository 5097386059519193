package cli

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"
	ucli "github.com/urfave/cli/v2"

	"kubelite/config"
	"kubelite/internal/bench"
	"kubelite/internal/bench/netbench"
	"kubelite/internal/logging"
	"kubelite/roles"
)

// benchCommand is `kubelite bench`: the scenarios of internal/bench against
// masters it starts itself, hollow minions in this process.
func benchCommand(e *env) *ucli.Command {
	var (
		quick, asJSON, noDocker bool
		only                    string
		pprofAddr, cpuProfile   string
		masterProfiles          string
		verbosity               int
		scale                   float64
		netnsChild              string
		swarmSizes              string
	)
	names := make([]string, 0, 11)
	for _, sc := range bench.Scenarios() {
		names = append(names, sc.Name)
	}
	return &ucli.Command{
		Name:     "bench",
		Category: catTools,
		Usage:    "measure API latency, watch fan-out, scheduling, convergence, pod start-up, proxy, footprint",
		Description: "Starts its own masters (embedded etcd in a temporary directory, the API on a free loopback port)\n" +
			"and many hollow minions (kubelets on a fake runtime) in this process; pod-startup uses the local\n" +
			"Docker Engine, proxy and rules-sync run in a network namespace of their own (root, iptables).\n" +
			"Prints each figure's median and spread over repeated runs and the same-run peer where one exists.\n" +
			"Exits non-zero only when a scenario fails, never because a target was missed.\n" +
			"Scenarios: " + strings.Join(names, ", "),
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "quick", Usage: "small sizes (CI); its swarm row needs root and docker-registry, as --only swarm does", Destination: &quick},
			&ucli.BoolFlag{Name: "json", Usage: "print the report as JSON", Destination: &asJSON},
			&ucli.BoolFlag{Name: "no-docker", Usage: "leave out the scenarios needing Docker or iptables (the report lists them)", Destination: &noDocker},
			&ucli.StringFlag{Name: "only", Usage: "run only these scenarios, comma-separated", Destination: &only},
			&ucli.StringFlag{Name: "pprof", Usage: "serve /debug/pprof of this process (the masters) on ADDR, e.g. 127.0.0.1:6060", Destination: &pprofAddr},
			&ucli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the whole run to FILE", Destination: &cpuProfile},
			&ucli.StringFlag{Name: "master-cpuprofiles", Usage: "write a CPU profile of each master started in a process of its own to DIR/master-SCENARIO.pprof", Destination: &masterProfiles},
			&ucli.Float64Flag{Name: "scale", Usage: "size of the scale scenario, times its full 150,000 pods on 5,000 hollow minions (default 1, or 0.01 with --quick)", Destination: &scale},
			&ucli.StringFlag{Name: "swarm-sizes", Usage: "replica counts N of the swarm rows, comma-separated (default 10,50,100, or 10 with --quick)", Destination: &swarmSizes},
			&ucli.IntFlag{Name: "v", Usage: "log level: 0 errors, 1 info, 2 debug", Destination: &verbosity},
			&ucli.StringFlag{Name: "netns-child", Hidden: true, Destination: &netnsChild},
		},
		Action: func(c *ucli.Context) error {
			// Thousands of hollow kubelets and an etcd under load log a lot:
			// errors only, unless asked (a failed scenario is in the report).
			log, err := setupLogging(e.stderr, config.Logging{V: max(verbosity-1, 0)})
			if err != nil {
				return err
			}
			if verbosity == 0 {
				log.SetLevel(logrus.ErrorLevel)
				logrus.SetLevel(logrus.ErrorLevel)
			}
			c.Context = logging.NewContext(c.Context, log)
			if netnsChild != "" {
				return netbench.Child(c.Context, netnsChild, e.stdout)
			}
			if c.Args().Present() {
				return fmt.Errorf("unexpected argument %q (see kubelite bench --help)", c.Args().First())
			}
			bin, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find own binary: %w", err)
			}
			if pprofAddr != "" {
				stop, err := servePprof(pprofAddr)
				if err != nil {
					return err
				}
				defer stop()
			}
			stopProfile, err := startCPUProfile(cpuProfile)
			if err != nil {
				return err
			}
			defer stopProfile()
			if scale < 0 {
				return fmt.Errorf("--scale %g: must be more than 0", scale)
			}
			sizes, err := parseSwarmSizes(swarmSizes)
			if err != nil {
				return err
			}
			if masterProfiles != "" {
				if err := os.MkdirAll(masterProfiles, 0o755); err != nil {
					return fmt.Errorf("--master-cpuprofiles: %w", err)
				}
			}
			o := bench.Options{Quick: quick, NoDocker: noDocker, Scale: scale, SwarmSizes: sizes, MasterProfiles: masterProfiles,
				Command: benchCommandLine(quick, noDocker, only, scale, swarmSizes)}
			for _, n := range strings.Split(only, ",") {
				if n = strings.TrimSpace(n); n != "" {
					o.Only = append(o.Only, n)
				}
			}
			// The hollow fleet's heap is this process's: its page faults
			// are the simulation's, not a minion's, on the master's cores.
			adviseHugePages(c)
			progress := e.stderr
			r, runErr := bench.Run(c.Context, &roles.BenchEnv{Bin: bin}, o, progress)
			if r == nil {
				return runErr
			}
			if asJSON {
				err = r.WriteJSON(e.stdout)
			} else {
				err = r.WriteTable(e.stdout)
			}
			if runErr != nil {
				return runErr
			}
			return err
		},
	}
}

// benchCommandLine is the command as the report shows it.
func benchCommandLine(quick, noDocker bool, only string, scale float64, swarmSizes string) string {
	s := "kubelite bench"
	if quick {
		s += " --quick"
	}
	if noDocker {
		s += " --no-docker"
	}
	if only != "" {
		s += " --only " + only
	}
	if scale > 0 {
		s += fmt.Sprintf(" --scale %g", scale)
	}
	if swarmSizes != "" {
		s += " --swarm-sizes " + swarmSizes
	}
	return s
}

// maxSwarmReplicas bounds --swarm-sizes: the swarm rows scale N to 2N on
// two lab hosts.
const maxSwarmReplicas = 500

// parseSwarmSizes reads --swarm-sizes: replica counts, each 1 to
// maxSwarmReplicas ("" is none: the run's own sizes).
func parseSwarmSizes(v string) ([]int, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var sizes []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxSwarmReplicas {
			return nil, fmt.Errorf("--swarm-sizes %q: each size must be a whole number from 1 to %d", v, maxSwarmReplicas)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// servePprof serves net/http/pprof on addr until stop.
func servePprof(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	logrus.WithField("component", "bench").Infof("pprof on http://%s/debug/pprof/", ln.Addr())
	return func() { _ = srv.Close() }, nil
}
