package kubectl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"kubelite/config"
	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/endpoint"
	"kubelite/internal/pki"
	"kubelite/internal/store"
)

// DefaultServer is the API server used without -s and $KUBERNETES_MASTER.
const DefaultServer = "http://localhost:8080"

// StandaloneServer is where `kubelite standalone` serves its API (8081: on
// one machine the tutorial's apache pod takes hostPort 8080). Without -s and
// $KUBERNETES_MASTER, kubectl uses it when no API server answers on
// DefaultServer and one answers there, so a newcomer's
// `kubelite kubectl get minions` just works.
const StandaloneServer = "http://localhost:8081"

// Client is everything the CLI needs of the API server: objects through the
// store interface, plus /version and the container logs the master proxies
// from a minion's kubelet.
type Client interface {
	store.Store
	// ServerVersion answers GET /version.
	ServerVersion(ctx context.Context) (api.ServerVersion, error)
	// ContainerLogs copies a container's log to w, through the master's
	// /api/v1beta1/proxy/minions/<host>/containerLogs/<ns>/<pod>/<container>;
	// with follow it streams until ctx ends or the kubelet closes the stream.
	ContainerLogs(ctx context.Context, host, namespace, pod, container string, follow bool, w io.Writer) error
}

// Connector opens a Client to the API server at an endpoint.
type Connector func(ep endpoint.Endpoint) (Client, error)

// Runner runs command lines. The zero value is not usable; see Run for the
// defaults.
type Runner struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment ($KUBERNETES_MASTER).
	Getenv func(string) string
	// Connect opens the API client for the server given by -s.
	Connect Connector
	// Clock paces rolling updates.
	Clock clock.Clock
	// ClientVersion is printed by `kubectl version`.
	ClientVersion api.ServerVersion
	// Listening reports whether an API server answers at a server URL;
	// used only to choose between DefaultServer and StandaloneServer.
	// Nil means always DefaultServer.
	Listening func(server string) bool
	// Identify says what answers at a server URL when a command against it
	// failed: "kubelet", "etcd" or "" (see identifyServer). Nil asks nothing.
	Identify func(ctx context.Context, server string) string
	// DefaultKubeconfigs are read, the first readable one, when neither
	// --kubeconfig nor $KUBECONFIG names one: the admin kubeconfig a master
	// or standalone writes into its data dir.
	DefaultKubeconfigs []string
}

// DefaultKubeconfigs lists the admin kubeconfigs of a master or standalone
// on this host with the default --data-dir: root's, then home's.
func DefaultKubeconfigs(home string) []string {
	paths := []string{filepath.Join(config.DefaultDataDir, pki.AdminKubeconfigFile)}
	if home != "" {
		paths = append(paths, filepath.Join(home, ".kubelite", pki.AdminKubeconfigFile))
	}
	return paths
}

// Run runs one kubectl command line (args without the program name) with the
// default client (HTTP to -s, $KUBERNETES_MASTER or http://localhost:8080).
// The caller prints a returned error and exits non-zero.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	home, _ := os.UserHomeDir()
	r := &Runner{
		Stdin: stdin, Stdout: stdout, Stderr: stderr,
		Getenv:             os.Getenv,
		Connect:            ConnectHTTP,
		Clock:              clock.Real{},
		ClientVersion:      ClientVersion(),
		Listening:          answersAPI,
		Identify:           identifyServer,
		DefaultKubeconfigs: DefaultKubeconfigs(home),
	}
	return r.Run(ctx, args)
}

// globals are the flags every command accepts.
type globals struct {
	target
	namespace string
}

func (g *globals) register(f *flagSet, serverShort bool, defServer string) {
	names := []string{"server"}
	if serverShort {
		names = []string{"s", "server"}
	}
	f.String(&g.server, names, defServer, "the API server (default $KUBERNETES_MASTER, else the kubeconfig's, else "+DefaultServer+", else the standalone's "+StandaloneServer+")")
	f.String(&g.namespace, []string{"namespace", "ns"}, api.DefaultNamespace, "the namespace")
	f.String(&g.kubeconfig, []string{"kubeconfig"}, "", "kubeconfig file (default $KUBECONFIG, else the admin.kubeconfig of this host's master or standalone)")
	f.String(&g.token, []string{"token"}, "", "bearer token to present to the API server")
	f.String(&g.caFile, []string{"certificate-authority"}, "", "CA certificate file that verifies the API server")
	f.Bool(&g.insecureSkipVerify, []string{"insecure-skip-tls-verify"}, false, "do not verify the API server's certificate (unsafe)")
}

// command is one subcommand.
type command struct {
	name    string
	aliases []string
	short   string
	// serverShort is false for commands where -s means something else (run).
	noServerShort bool
	setup         func(f *flagSet) func(ctx context.Context, e *env, args []string) error
}

// env is what a running command has: IO, the client and the global flags.
type env struct {
	*Runner
	g      globals
	client Client
	server string // the URL client talks to, once connected
}

func (r *Runner) commands() []command {
	return []command{
		{name: "get", short: "list objects or show one: get (pods|rc|services|minions|events|endpoints) [ID]", setup: setupGet},
		{name: "describe", short: "show an object in detail with its recent events: describe RESOURCE ID", setup: setupDescribe},
		{name: "create", short: "create objects from files: create -f FILE|DIR|-", setup: setupCreate},
		{name: "update", short: "replace objects from files: update -f FILE|DIR|-", setup: setupUpdate},
		{name: "delete", short: "delete objects: delete RESOURCE ID... | delete -f FILE", setup: setupDelete},
		{name: "version", short: "print the client and server versions", setup: setupVersion},
		{name: "resize", short: "set the replica count of a replication controller: resize RC N", setup: setupResize},
		{name: "scale", short: "set the replica count of a replication controller: scale --replicas=N RC", setup: setupScale},
		{name: "stop", short: "resize a replication controller to 0, wait for its pods to go, delete it: stop RC", setup: setupStop},
		{name: "run", aliases: []string{"run-container"}, short: "run IMAGE REPLICAS NAME [-p HOSTPORT:CONTAINERPORT] [-s SERVICEPORT]", noServerShort: true, setup: setupRun},
		{name: "rollingupdate", aliases: []string{"rolling-update"}, short: "replace the pods of a replication controller one at a time: rollingupdate RC (-f NEW.json | --image IMG)", setup: setupRollingUpdate},
		{name: "log", aliases: []string{"logs"}, short: "print a container's log: log [-f] POD [CONTAINER]", setup: setupLog},
	}
}

func (r *Runner) usage() string {
	var b strings.Builder
	b.WriteString("Usage: kubectl [-s SERVER] [--namespace NS] COMMAND [ARGS]\n\nCommands:\n")
	cmds := r.commands()
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-14s %s\n", c.name, c.short)
	}
	b.WriteString("\nResources: pods (po), replicationControllers (rc), services (se, svc), minions (mi, nodes), events (ev), endpoints\n")
	b.WriteString("Run 'kubectl help COMMAND' (or 'kubectl COMMAND --help') for a command's flags.\n")
	return b.String()
}

// Run runs one command line.
func (r *Runner) Run(ctx context.Context, args []string) error {
	if r.Getenv == nil {
		r.Getenv = func(string) string { return "" }
	}
	if r.Clock == nil {
		r.Clock = clock.Real{}
	}
	if r.Stdin == nil {
		r.Stdin = strings.NewReader("")
	}
	name, rest, err := splitCommand(args)
	if err != nil {
		return err
	}
	if name == "help" && len(rest) > 0 {
		// kubectl help get: the command's own usage, as get --help prints it.
		if r.command(rest[0]) == nil {
			return fmt.Errorf("help: unknown command %q (run 'kubectl help' for the list)", rest[0])
		}
		return r.Run(ctx, []string{rest[0], "--help"})
	}
	if name == "" || name == "help" {
		fmt.Fprint(r.Stdout, r.usage())
		if name == "" && len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	cmd := r.command(name)
	if cmd == nil {
		return fmt.Errorf("unknown command %q (run 'kubectl help')", name)
	}
	defServer := ""
	if m := r.Getenv("KUBERNETES_MASTER"); m != "" {
		defServer = m
	}
	f := newFlagSet(cmd.name, cmd.short)
	e := &env{Runner: r}
	e.g.register(f, !cmd.noServerShort, defServer)
	run := cmd.setup(f)
	pos, err := f.Parse(rest)
	if errors.Is(err, errHelp) {
		fmt.Fprint(r.Stdout, f.Usage())
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", cmd.name, err)
	}
	err = run(ctx, e, pos)
	if err != nil && e.server != "" && r.Identify != nil && ctx.Err() == nil {
		err = wrongServer(err, e.server, r.Identify(ctx, e.server))
	}
	return err
}

// command finds a command by name or alias; nil if there is none.
func (r *Runner) command(name string) *command {
	for _, c := range r.commands() {
		if c.name == name || contains(c.aliases, name) {
			return &c
		}
	}
	return nil
}

// splitCommand finds the command word, skipping global flags placed before
// it (kubectl -s http://m:8080 get pods); the rest keeps every other word.
func splitCommand(args []string) (string, []string, error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-h" || a == "--help" {
			return "help", nil, nil
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			if strings.Contains(a, "=") {
				continue
			}
			switch strings.TrimLeft(a, "-") {
			case "s", "server", "namespace", "ns", "kubeconfig", "token", "certificate-authority":
				i++
				continue
			case "insecure-skip-tls-verify":
				continue
			}
			return "", nil, fmt.Errorf("unknown flag %s before the command", a)
		}
		// Global flags before the command: "-s" means --server there, even
		// for run, where -s after the command is the service port.
		var rest []string
		for _, b := range args[:i] {
			switch {
			case b == "-s":
				b = "--server"
			case strings.HasPrefix(b, "-s="):
				b = "--server=" + b[len("-s="):]
			}
			rest = append(rest, b)
		}
		rest = append(rest, args[i+1:]...)
		return a, rest, nil
	}
	return "", nil, nil
}

// connect opens the client once per command.
func (e *env) connect() (Client, error) {
	if e.client != nil {
		return e.client, nil
	}
	if e.Connect == nil {
		return nil, errors.New("no API client configured")
	}
	ep, err := e.resolveEndpoint(e.g.target)
	if err != nil {
		return nil, err
	}
	c, err := e.Connect(ep)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", ep.URL, err)
	}
	e.client, e.server = c, ep.URL
	return c, nil
}

// ns returns the namespace for res ("" for minions).
func (e *env) ns(res api.Resource) string {
	return store.Namespace(res, e.g.namespace)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseResource maps a CLI resource word to a resource the CLI serves.
func parseResource(s string) (api.Resource, error) {
	r, err := api.ParseResource(s)
	if err != nil || r == api.Bindings {
		return "", fmt.Errorf("unknown resource %q (want pods, replicationControllers, services, minions, events or endpoints)", s)
	}
	return r, nil
}
