package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"kubelite/internal/api"
)

// Netns helpers: run a whole test binary inside a network namespace of its
// own, so tests can program iptables and send traffic to portal IPs without
// touching the host's network.
//
// Use from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testutil.RunInNetns(m, testutil.DefaultNetns)) }
//
// RunInNetns re-executes the test binary (same arguments) as a child created
// with CLONE_NEWNET, waits for it and returns its exit code; the namespace and
// everything in it (links, addresses, routes, iptables rules, conntrack
// entries) disappears when the child exits, even if it crashes. Inside the
// child it sets up the network described by NetnsConfig and runs m. Every
// goroutine of the child is in the namespace, so servers, proxies and -race
// all behave as in production. Tests that need the namespace call
// RequireNetns(t) first: it fails them (skips under KUBELITE_SKIP_SYSTEM=1)
// when the process is not inside its own namespace.

// netnsEnv marks the child; its value is the parent's netns identity.
const netnsEnv = "KUBELITE_TEST_NETNS_PARENT"

// NetnsConfig describes the network made inside the namespace.
type NetnsConfig struct {
	// Link is the name of the veth end that carries Addr; its peer is
	// Link+"p" and has no address, so packets routed to it are dropped.
	Link string
	// Addr is the CIDR address of Link, e.g. "10.99.0.1/24".
	Addr string
	// Routed lists CIDRs routed out of Link with Addr's IP as the source,
	// e.g. a portal range.
	Routed []string
	// LoopbackAddrs are extra addresses (CIDR) put on lo, e.g. for backends.
	LoopbackAddrs []string
	// MTU of the veth pair; 0 keeps the default (1500). Traffic to a routed
	// range that is DNATed to a local address keeps the MSS of the route it
	// was first sent to, so a benchmark comparing it with direct traffic on
	// lo needs an MTU like lo's (65535, the veth maximum).
	MTU int
}

// DefaultNetns routes the portal range 10.254.0.0/16 into a sink veth (MTU
// 65535, like lo) and gives lo the backend addresses 10.99.1.1-10.99.1.9.
var DefaultNetns = NetnsConfig{
	Link:   "kl0",
	Addr:   "10.99.0.1/24",
	MTU:    65535,
	Routed: []string{api.DefaultPortalNet},
	LoopbackAddrs: []string{
		"10.99.1.1/32", "10.99.1.2/32", "10.99.1.3/32", "10.99.1.4/32", "10.99.1.5/32",
		"10.99.1.6/32", "10.99.1.7/32", "10.99.1.8/32", "10.99.1.9/32",
	},
}

var netnsErr error // why the process is not in its own namespace

func netnsID() string {
	id, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return ""
	}
	return id
}

// InNetns reports whether this process runs inside a namespace RunInNetns made.
func InNetns() bool {
	parent := os.Getenv(netnsEnv)
	id := netnsID()
	return parent != "" && id != "" && id != parent && netnsErr == nil
}

// RequireNetns fails t when the process does not run in its own network
// namespace (skips only under KUBELITE_SKIP_SYSTEM=1).
func RequireNetns(t testing.TB) {
	t.Helper()
	SystemTest(t, "a network namespace")
	if !InNetns() {
		why := netnsErr
		if why == nil {
			why = fmt.Errorf("TestMain did not call testutil.RunInNetns")
		}
		missing(t, "own network namespace required: %v", why)
	}
}

// RunInNetns runs m inside a fresh network namespace; see the comment above.
func RunInNetns(m Runner, cfg NetnsConfig) int {
	if Unit() {
		return m.Run() // the unit tier skips every test that needs the namespace
	}
	if os.Getenv(netnsEnv) != "" {
		if err := setupNetns(cfg); err != nil {
			netnsErr = err
			fmt.Fprintf(os.Stderr, "testutil: set up network namespace: %v\n", err)
		}
		return m.Run()
	}
	parent := netnsID()
	if parent == "" {
		netnsErr = fmt.Errorf("cannot read /proc/self/ns/net")
		return m.Run()
	}
	exe, err := os.Executable()
	if err != nil {
		netnsErr = fmt.Errorf("find test binary: %w", err)
		return m.Run()
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), netnsEnv+"="+parent)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNET,
		Pdeathsig:  syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		// Not root, or no user namespaces: run here; RequireNetns fails the
		// tests that need the namespace (or skips them when asked to).
		netnsErr = fmt.Errorf("start test binary in a new network namespace: %w", err)
		return m.Run()
	}
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			if code := ee.ExitCode(); code > 0 {
				return code
			}
		}
		fmt.Fprintf(os.Stderr, "testutil: test binary in network namespace: %v\n", err)
		return 1
	}
	return 0
}

func setupNetns(cfg NetnsConfig) error {
	if id := netnsID(); id == "" || id == os.Getenv(netnsEnv) {
		return fmt.Errorf("still in the parent's network namespace")
	}
	cmds := [][]string{{"link", "set", "lo", "up"}}
	for _, a := range cfg.LoopbackAddrs {
		cmds = append(cmds, []string{"addr", "add", a, "dev", "lo"})
	}
	if cfg.Link != "" {
		peer := cfg.Link + "p"
		cmds = append(cmds,
			[]string{"link", "add", cfg.Link, "type", "veth", "peer", "name", peer},
		)
		if cfg.MTU > 0 {
			mtu := fmt.Sprint(cfg.MTU)
			cmds = append(cmds,
				[]string{"link", "set", cfg.Link, "mtu", mtu},
				[]string{"link", "set", peer, "mtu", mtu})
		}
		cmds = append(cmds,
			[]string{"link", "set", cfg.Link, "up"},
			[]string{"link", "set", peer, "up"},
		)
		src := ""
		if cfg.Addr != "" {
			cmds = append(cmds, []string{"addr", "add", cfg.Addr, "dev", cfg.Link})
			src, _, _ = strings.Cut(cfg.Addr, "/")
		}
		for _, r := range cfg.Routed {
			c := []string{"route", "add", r, "dev", cfg.Link}
			if src != "" {
				c = append(c, "src", src)
			}
			cmds = append(cmds, c)
		}
	}
	for _, c := range cmds {
		out, err := exec.Command("ip", c...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(c, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}
