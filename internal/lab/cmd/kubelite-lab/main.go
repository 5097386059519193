// Command kubelite-lab brings a lab (see package lab) up for a person to try,
// and tears it down. scripts/lab.sh wraps it; `make lab` runs `scripts/lab.sh up`.
//
//	kubelite-lab up   [-name demo] [-minions 2] [-kubelite BIN] [-images a,b] [-master-args ...] [-minion-args ...]
//	kubelite-lab down [-name demo]
//
// up removes any earlier lab of the same name, builds the lab, copies the
// images (built from BIN with internal/images when -images is empty and BIN
// is given) into every minion's engine, starts `BIN master` on the master
// host and `BIN minion` on each minion host, prints how to use the lab and
// exits, leaving everything running. down removes everything, by name.
//
// The cluster runs secure, as kubelite does by default: once the master's
// API answers, up runs `BIN token --data-dir` (the master's --data-dir) and
// writes the join token to each minion host's token file (<dir>/token,
// 0600: the hosts share this machine's file system, so each has its own
// /etc/kubernetes/token), which each minion gets as --token-file unless its
// arguments name a token or an http:// master; and `BIN kubeconfig
// --server https://<master>:8080` to <lab root>/admin.kubeconfig, for
// kubectl. With --insecure in -master-args, the minions get
// --master=http://... instead and no token.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/images"
	"kubelite/internal/lab"
	"kubelite/internal/runtime/docker"
	"kubelite/internal/securetest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "kubelite-lab:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: kubelite-lab up|down [flags]")
	}
	fs := flag.NewFlagSet("kubelite-lab "+args[0], flag.ContinueOnError)
	name := fs.String("name", "demo", "lab name (1-8 of [a-z0-9])")
	minions := fs.Int("minions", 2, "number of minion hosts")
	bin := fs.String("kubelite", "", "static kubelite binary to run on the hosts (none: network and engines only)")
	imgs := fs.String("images", "", "comma-separated images to copy from the machine's engine (default with -kubelite: build and copy all of internal/images)")
	masterArgs := fs.String("master-args", "master --config-dir= --etcd-embed --data-dir={dir}/data",
		"arguments of the master process; {master} {addr} {dir} {docker} are replaced")
	minionArgs := fs.String("minion-args", "minion --config-dir= --master={master}:8080 --hostname_override={addr} --host-ip={addr} --docker-endpoint={docker} --root-dir={dir}/kubelet",
		"arguments of each minion process")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "down":
		return lab.Cleanup(ctx, *name)
	case "up":
		return up(ctx, lab.Config{Name: *name, Minions: *minions}, *bin, *imgs, *masterArgs, *minionArgs)
	}
	return fmt.Errorf("unknown command %q: want up or down", args[0])
}

func up(ctx context.Context, cfg lab.Config, bin, imgs, masterArgs, minionArgs string) (err error) {
	l, err := lab.New(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := l.Up(ctx); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			fmt.Fprintln(os.Stderr, l.Dump(20))
			_ = l.Down(context.WithoutCancel(ctx))
		}
	}()
	var names []string
	if imgs != "" {
		names = strings.Split(imgs, ",")
	} else if bin != "" {
		names = images.Names()
		rt, err := docker.New("") // the machine's engine
		if err != nil {
			return err
		}
		err = images.Build(ctx, rt, bin, names...)
		rt.Close()
		if err != nil {
			return err
		}
	}
	if err := l.LoadImages(ctx, names...); err != nil {
		return err
	}
	master := l.Master()
	kubeconfig := ""
	if bin != "" {
		if bin, err = filepath.Abs(bin); err != nil {
			return err
		}
		expand := func(tmpl string, h *lab.Host) []string {
			docker := ""
			if h.Engine != nil {
				docker = h.Engine.DockerHost()
			}
			r := strings.NewReplacer("{master}", master.Addr.String(), "{addr}", h.Addr.String(),
				"{dir}", filepath.Join(l.Config().Root, h.Name), "{docker}", docker)
			return append([]string{bin}, strings.Fields(r.Replace(tmpl))...)
		}
		margv := expand(masterArgs, master)
		mp, err := l.Start(master, "kubelite", margv...)
		if err != nil {
			return err
		}
		insecure := slices.Contains(margv, "--insecure")
		if !insecure {
			if kubeconfig, err = credentials(ctx, l, mp, bin, margv); err != nil {
				return err
			}
		}
		for _, h := range l.Minions() {
			if _, err := l.Start(h, "kubelite", minionArgv(expand(minionArgs, h), insecure, tokenFile(l, h))...); err != nil {
				return err
			}
		}
		// A process that dies at once (bad flags) is worth saying now.
		time.Sleep(2 * time.Second)
		for _, p := range l.Processes() {
			if done, perr := p.Exited(); done {
				return fmt.Errorf("%s on %s exited: %v", p.Name, p.Host.Name, perr)
			}
		}
	}
	printUsage(l, bin, kubeconfig, names, time.Since(start))
	return nil
}

// tokenFile is minion host h's /etc/kubernetes/token.
func tokenFile(l *lab.Lab, h *lab.Host) string {
	return filepath.Join(l.Config().Root, h.Name, "token")
}

// minionArgv completes a minion's command line for the master's mode: a
// secure master's token file (unless the arguments say otherwise), or an
// --insecure master's http:// address.
func minionArgv(argv []string, insecure bool, token string) []string {
	out := append([]string(nil), argv...)
	own := false
	for i, a := range out {
		if v, ok := strings.CutPrefix(a, "--master="); ok && insecure && !strings.Contains(v, "://") {
			out[i] = "--master=http://" + v
		}
		if strings.HasPrefix(a, "--token") || strings.HasPrefix(a, "--master=http://") {
			own = true
		}
	}
	if !insecure && !own {
		out = append(out, "--token-file="+token)
	}
	return out
}

// credentials waits for the master's identity and API, writes the join
// token to every minion host's token file and the admin kubeconfig to the
// lab's root, and returns the kubeconfig's path.
func credentials(ctx context.Context, l *lab.Lab, mp *lab.Process, bin string, margv []string) (string, error) {
	dataDir := api.DefaultDataDir
	for _, a := range margv {
		if v, ok := strings.CutPrefix(a, "--data-dir="); ok {
			dataDir = v
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var tok string
	for {
		var err error
		if tok, err = securetest.Token(ctx, bin, dataDir); err == nil {
			break
		}
		if done, perr := mp.Exited(); done {
			return "", fmt.Errorf("master exited (%v): %s", perr, strings.Join(mp.Tail(5), "\n"))
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the master's join token: %w", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	for _, h := range l.Minions() {
		f := tokenFile(l, h)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(f, []byte(tok+"\n"), 0o600); err != nil {
			return "", err
		}
	}
	kc, err := securetest.Kubeconfig(ctx, bin, dataDir, fmt.Sprintf("https://%s:8080", l.Master().Addr))
	if err != nil {
		return "", err
	}
	path := filepath.Join(l.Config().Root, "admin.kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		return "", err
	}
	// A joining minion exits if the API does not answer yet.
	ep, err := securetest.FromKubeconfig(path)
	if err != nil {
		return "", err
	}
	hc := securetest.Client(ep, 2*time.Second)
	for {
		resp, err := hc.Get(ep.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return path, nil
			}
			err = fmt.Errorf("healthz: %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("the master's API at %s: %w", ep.URL, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func printUsage(l *lab.Lab, bin, kubeconfig string, imgs []string, took time.Duration) {
	c := l.Config()
	m := l.Master()
	fmt.Printf("lab %q is up (%s): hosts on bridge klb-%s, nothing leaves the machine.\n\n", c.Name, took.Round(time.Millisecond), c.Name)
	fmt.Printf("  %-8s %-13s %s\n", "host", "address", "shell / engine")
	for _, h := range l.Hosts() {
		engine := ""
		if h.Engine != nil {
			engine = "   docker -H " + h.Engine.DockerHost() + " ps"
		}
		fmt.Printf("  %-8s %-13s nsenter --net=%s bash%s\n", h.Name, h.Addr, h.NSPath, engine)
	}
	if len(imgs) > 0 {
		fmt.Printf("\nimages in every minion's engine: %s\n", strings.Join(imgs, " "))
	}
	switch {
	case bin != "" && kubeconfig != "":
		fmt.Printf("\nkubelite runs on every host, secure; logs in %s\n", c.LogDir)
		fmt.Printf("  %s kubectl --kubeconfig %s get minions\n", bin, kubeconfig)
		fmt.Printf("  %s kubectl --kubeconfig %s create -f testdata/tutorial/apache-pod.json\n", bin, kubeconfig)
		fmt.Printf("\nthe master's API is https://%s:8080 (admin: %s; join token: %s token --data-dir on the master's data dir)\n", m.Addr, kubeconfig, bin)
		fmt.Printf("plain-HTTP reads work on the master host itself: nsenter --net=%s curl http://%s:8080/api/v1beta1/pods\n", m.NSPath, m.Addr)
	case bin != "":
		fmt.Printf("\nkubelite runs on every host, --insecure (plain HTTP, no authentication); logs in %s\n", c.LogDir)
		fmt.Printf("  %s kubectl -s http://%s:8080 get minions\n", bin, m.Addr)
		fmt.Printf("  %s kubectl -s http://%s:8080 create -f testdata/tutorial/apache-pod.json\n", bin, m.Addr)
		fmt.Printf("\nthe master's API is reachable from this machine at http://%s:8080\n", m.Addr)
	default:
		fmt.Printf("\nno kubelite started (no binary given); logs in %s\n", c.LogDir)
	}
	fmt.Printf("tear down: scripts/lab.sh down %s   (make lab-down for the default lab)\n", c.Name)
}
