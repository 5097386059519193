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
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kubelite/internal/images"
	"kubelite/internal/lab"
	"kubelite/internal/runtime/docker"
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
		if _, err := l.Start(master, "kubelite", expand(masterArgs, master)...); err != nil {
			return err
		}
		for _, h := range l.Minions() {
			if _, err := l.Start(h, "kubelite", expand(minionArgs, h)...); err != nil {
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
	printUsage(l, bin, names, time.Since(start))
	return nil
}

func printUsage(l *lab.Lab, bin string, imgs []string, took time.Duration) {
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
	if bin != "" {
		fmt.Printf("\nkubelite runs on every host; logs in %s\n", c.LogDir)
		fmt.Printf("  %s kubectl -s http://%s:8080 get minions\n", bin, m.Addr)
		fmt.Printf("  %s kubectl -s http://%s:8080 create -f testdata/tutorial/apache-pod.json\n", bin, m.Addr)
	} else {
		fmt.Printf("\nno kubelite started (no binary given); logs in %s\n", c.LogDir)
	}
	fmt.Printf("\nthe master's API is reachable from this machine at http://%s:8080\n", m.Addr)
	fmt.Printf("tear down: scripts/lab.sh down %s   (make lab-down for the default lab)\n", c.Name)
}
