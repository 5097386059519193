package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Cleanup removes everything a lab named name made with the default paths,
// whether it was torn down, crashed or was interrupted: it needs no state
// beyond the name. Running it when nothing is left is a no-op.
//
// It takes the lab's lock first, as Up does (an flock on
// /run/kubelite-lab/<name>.lock, held until Down): while another process
// runs a lab of that name it waits, and fails naming that process when ctx
// ends, instead of tearing the running lab down under it.
func Cleanup(ctx context.Context, name string) error {
	c, err := Config{Name: name}.withDefaults()
	if err != nil {
		return err
	}
	unlock, err := lockLab(ctx, name)
	if err != nil {
		return err
	}
	defer unlock()
	return cleanup(ctx, ExecRunner{}, name, []string{c.Root, c.RunDir, c.LogDir})
}

// cleanup tears a lab down in the order that leaves nothing behind:
//  1. kill the processes in the lab (kubelite and containers), so nothing
//     recreates containers;
//  2. remove the containers through every engine that still answers;
//  3. stop the engines (SIGTERM, then SIGKILL), then kill whatever of the lab
//     is left (containerd, shims);
//  4. lazily unmount everything under the lab's directories, delete them;
//  5. remove the engines' cgroups, the namespaces, links and bridge, and the
//     firewall chain.
//
// It goes on after an error and returns all of them.
func cleanup(ctx context.Context, r Runner, name string, dirs []string) error {
	var errs []error
	fail := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	nss, err := labNamespaces(ctx, r, name)
	fail(err)
	m := matcher{self: os.Getpid(), cgroup: "/" + nsPrefix(name), netns: map[string]bool{}}
	for _, d := range dirs {
		m.paths = append(m.paths, filepath.Clean(d)+"/")
	}
	for _, ns := range nss {
		var st syscall.Stat_t
		if err := syscall.Stat("/run/netns/"+ns, &st); err == nil {
			m.netns[fmt.Sprintf("net:[%d]", st.Ino)] = true
		}
	}

	// 1. Everything but the engines' own processes.
	fail(killAndWait(m.selectPids(readProcs(), false), syscall.SIGKILL, 5*time.Second))

	// 2. Containers, through their engines.
	for _, d := range dirs {
		socks, _ := filepath.Glob(filepath.Join(d, "*", "docker.sock"))
		for _, s := range socks {
			fail(removeContainers(ctx, r, s))
		}
	}

	// 3. The engines, then the rest.
	var dockerds []int
	for _, pi := range readProcs() {
		if pi.comm == "dockerd" && m.match(pi) {
			dockerds = append(dockerds, pi.pid)
		}
	}
	if err := killAndWait(dockerds, syscall.SIGTERM, 20*time.Second); err != nil {
		fail(killAndWait(dockerds, syscall.SIGKILL, 5*time.Second))
	}
	fail(killAndWait(m.selectPids(readProcs(), true), syscall.SIGKILL, 5*time.Second))

	// 4. Mounts and directories.
	if info, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, mp := range mountsUnder(string(info), dirs) {
			if err := syscall.Unmount(mp, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
				fail(fmt.Errorf("unmount %s: %w", mp, err))
			}
		}
	} else {
		fail(err)
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			fail(fmt.Errorf("remove %s: %w", d, err))
		}
		// The shared parents of the default paths go once the last lab has.
		if parent := filepath.Dir(filepath.Clean(d)); filepath.Base(parent) == "kubelite-lab" {
			_ = os.Remove(parent) // fails, harmlessly, while not empty
		}
	}

	// 5. Cgroups, namespaces, links, bridge, firewall.
	fail(removeCgroups(name))
	for _, ns := range nss {
		_, err := r.Run(ctx, "ip", "netns", "del", ns)
		fail(err)
	}
	links, err := labLinks(ctx, r, name)
	fail(err)
	for _, l := range links {
		if _, err := r.Run(ctx, "ip", "link", "del", l); err != nil {
			// Deleting a namespace takes its veth pairs with it, a little later.
			if _, serr := r.Run(ctx, "ip", "link", "show", l); serr == nil {
				fail(err)
			}
		}
	}
	fail(removeChain(ctx, r, chainName(name)))
	return errors.Join(errs...)
}

// labNamespaces lists the network namespaces of lab name.
func labNamespaces(ctx context.Context, r Runner, name string) ([]string, error) {
	out, err := r.Run(ctx, "ip", "netns", "list")
	if err != nil {
		return nil, err
	}
	var nss []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], nsPrefix(name)) {
			nss = append(nss, f[0])
		}
	}
	return nss, nil
}

// labLinks lists the links of lab name in the host namespace: veth ends and the bridge.
func labLinks(ctx context.Context, r Runner, name string) ([]string, error) {
	out, err := r.Run(ctx, "ip", "-o", "link", "show")
	if err != nil {
		return nil, err
	}
	return parseLinks(string(out), name), nil
}

// parseLinks picks lab name's links out of `ip -o link show` output, veth
// ends first and the bridge last.
func parseLinks(out, name string) []string {
	var links []string
	bridge := false
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		l, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		switch {
		case l == bridgeName(name):
			bridge = true
		case strings.HasPrefix(l, vethPrefix(name)):
			links = append(links, l)
		}
	}
	if bridge {
		links = append(links, bridgeName(name))
	}
	return links
}

// removeContainers removes every container of the engine behind socket, if
// it answers at all.
func removeContainers(ctx context.Context, r Runner, socket string) error {
	if pingEngine(ctx, socket) != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	host := "unix://" + socket
	// Something else may be removing some of them at the same moment (a
	// kubelet, Swarm's task reaper): the engine then answers "removal ...
	// already in progress" for those. Done is when none is left.
	var rmErr error
	for attempt := 0; ; attempt++ {
		out, err := r.Run(ctx, "docker", "-H", host, "ps", "-aq")
		if err != nil {
			return fmt.Errorf("remove containers: %w", err)
		}
		ids := strings.Fields(string(out))
		if len(ids) == 0 {
			return nil
		}
		if attempt == 5 {
			return fmt.Errorf("remove containers: %d left: %w", len(ids), rmErr)
		}
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("remove containers: %w", errors.Join(ctx.Err(), rmErr))
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		_, rmErr = r.Run(ctx, append([]string{"docker", "-H", host, "rm", "-f", "-v"}, ids...)...)
	}
}

// removeChain unhooks chain from FORWARD and deletes it, if it exists.
func removeChain(ctx context.Context, r Runner, chain string) error {
	if _, err := r.Run(ctx, "iptables", "-w", "-S", chain); err != nil {
		return nil // no such chain
	}
	for range 16 {
		if _, err := r.Run(ctx, "iptables", "-w", "-D", "FORWARD", "-j", chain); err != nil {
			break
		}
	}
	if _, err := r.Run(ctx, "iptables", "-w", "-F", chain); err != nil {
		return err
	}
	_, err := r.Run(ctx, "iptables", "-w", "-X", chain)
	return err
}

// removeCgroups removes the cgroups the lab's engines made (named after the
// lab's namespaces, see Engine.CgroupParent), deepest first.
func removeCgroups(name string) error {
	tops, _ := filepath.Glob("/sys/fs/cgroup/*/" + nsPrefix(name) + "*")
	top2, _ := filepath.Glob("/sys/fs/cgroup/" + nsPrefix(name) + "*")
	var errs []error
	for _, top := range append(tops, top2...) {
		var dirs []string
		_ = filepath.WalkDir(top, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		slices.Reverse(dirs)
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mountsUnder returns the mount points in mountinfo that lie under one of
// dirs, in the order to unmount them: the reverse of the order they were mounted.
func mountsUnder(mountinfo string, dirs []string) []string {
	var mps []string
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		for _, d := range dirs {
			d = filepath.Clean(d)
			if mp == d || strings.HasPrefix(mp, d+"/") {
				mps = append(mps, mp)
				break
			}
		}
	}
	slices.Reverse(mps)
	return mps
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// procInfo is what cleanup needs to know of a process.
type procInfo struct {
	pid     int
	comm    string
	cmdline string // arguments joined by spaces
	netns   string // readlink of /proc/<pid>/ns/net, e.g. net:[4026532300]
	cgroup  string // contents of /proc/<pid>/cgroup
}

// matcher decides which processes belong to a lab: those in one of its
// namespaces, those naming one of its directories (containerd and its shims),
// and those in its engines' cgroups (containers).
type matcher struct {
	self   int
	netns  map[string]bool
	paths  []string
	cgroup string
}

func (m matcher) match(pi procInfo) bool {
	if pi.pid == m.self || pi.pid == 1 {
		return false
	}
	if m.netns[pi.netns] {
		return true
	}
	if strings.Contains(pi.cgroup, ":"+m.cgroup) {
		return true
	}
	for _, p := range m.paths {
		if strings.Contains(pi.cmdline, p) {
			return true
		}
	}
	return false
}

// isEngine reports whether a process is part of an engine (dockerd,
// containerd, its shims, docker-proxy, runc) rather than a workload.
func isEngine(comm string) bool {
	return strings.HasPrefix(comm, "dockerd") || strings.HasPrefix(comm, "containerd") ||
		strings.HasPrefix(comm, "docker-proxy") || comm == "runc"
}

// selectPids returns the pids of the lab's processes: with engines false only
// the workloads, with engines true all of them.
func (m matcher) selectPids(procs []procInfo, engines bool) []int {
	var pids []int
	for _, pi := range procs {
		if m.match(pi) && (engines || !isEngine(pi.comm)) {
			pids = append(pids, pi.pid)
		}
	}
	sort.Ints(pids)
	return pids
}

// readProcs reads every process's procInfo from /proc; processes that vanish
// while it reads are skipped.
func readProcs() []procInfo {
	ents, _ := os.ReadDir("/proc")
	var procs []procInfo
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := "/proc/" + e.Name()
		comm, err := os.ReadFile(dir + "/comm")
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(dir + "/cmdline")
		netns, _ := os.Readlink(dir + "/ns/net")
		cg, _ := os.ReadFile(dir + "/cgroup")
		procs = append(procs, procInfo{
			pid:     pid,
			comm:    strings.TrimSpace(string(comm)),
			cmdline: strings.ReplaceAll(string(cmdline), "\x00", " "),
			netns:   netns,
			cgroup:  string(cg),
		})
	}
	return procs
}

// killAndWait sends sig to pids (continuing stopped ones) and waits until all
// are gone or timeout passes.
func killAndWait(pids []int, sig syscall.Signal, timeout time.Duration) error {
	for _, pid := range pids {
		_ = syscall.Kill(pid, sig)
		_ = syscall.Kill(pid, syscall.SIGCONT)
	}
	deadline := time.Now().Add(timeout)
	for {
		var alive []int
		for _, pid := range pids {
			if !gone(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes %v still alive %v after %s", alive, sig, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// gone reports whether pid has exited (a zombie counts as exited).
func gone(pid int) bool {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	s, ok := statState(line)
	return !ok || s == 'Z' || s == 'X'
}
