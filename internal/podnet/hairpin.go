package podnet

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/logging"
)

// Hairpin turns on hairpin mode on every port of the pods' bridge. A pod
// that reaches its own service through the portal IP may be DNATed back to
// itself: the packet then has to leave the bridge by the port it came in
// on, which a bridge port refuses unless hairpin mode is on (Docker does
// not set it on the networks it creates).
type Hairpin interface {
	// Ensure turns hairpin on for every port of bridge that has it off and
	// returns the ports it changed. A missing bridge is not an error.
	Ensure(ctx context.Context, bridge string) ([]string, error)
}

// IPHairpin is the real Hairpin: it runs the ip command (iproute2) in the
// calling process's network namespace.
type IPHairpin struct {
	// Run runs a command and returns its standard output; nil runs it with os/exec.
	Run func(ctx context.Context, argv ...string) ([]byte, error)
}

var _ Hairpin = IPHairpin{}

type bridgePort struct {
	IfName   string `json:"ifname"`
	LinkInfo struct {
		SlaveKind string `json:"info_slave_kind"`
		SlaveData struct {
			Hairpin bool `json:"hairpin"`
		} `json:"info_slave_data"`
	} `json:"linkinfo"`
}

// PortsWithoutHairpin returns the bridge ports in `ip -j -d link show
// master BRIDGE` output whose hairpin mode is off.
func PortsWithoutHairpin(out []byte) ([]string, error) {
	var ports []bridgePort
	if len(strings.TrimSpace(string(out))) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(out, &ports); err != nil {
		return nil, fmt.Errorf("parse bridge ports: %w", err)
	}
	var off []string
	for _, p := range ports {
		if p.LinkInfo.SlaveKind == "bridge" && !p.LinkInfo.SlaveData.Hairpin {
			off = append(off, p.IfName)
		}
	}
	return off, nil
}

// Ensure implements Hairpin.
func (h IPHairpin) Ensure(ctx context.Context, bridge string) ([]string, error) {
	r := IPRoutes(h)
	out, err := r.run(ctx, "ip", "-j", "-d", "link", "show", "master", bridge)
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return nil, nil // no pods yet
		}
		return nil, fmt.Errorf("list ports of %s: %w", bridge, err)
	}
	off, err := PortsWithoutHairpin(out)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, port := range off {
		if _, err := r.run(ctx, "ip", "link", "set", "dev", port, "type", "bridge_slave", "hairpin", "on"); err != nil {
			if strings.Contains(err.Error(), "does not exist") || strings.Contains(err.Error(), "Cannot find device") {
				continue // the pod went away meanwhile
			}
			return changed, fmt.Errorf("hairpin on %s: %w", port, err)
		}
		changed = append(changed, port)
	}
	return changed, nil
}

// FakeHairpin records the bridges it was asked about.
type FakeHairpin struct {
	Bridges []string
}

// Ensure implements Hairpin.
func (f *FakeHairpin) Ensure(ctx context.Context, bridge string) ([]string, error) {
	f.Bridges = append(f.Bridges, bridge)
	return nil, nil
}

// KeepHairpin runs h.Ensure on bridge at every tick until ctx ends, so the
// port of a pod that just started gets hairpin mode within one tick.
// Failures are logged to log (nil: nowhere) once per distinct message.
func KeepHairpin(ctx context.Context, log *logrus.Entry, h Hairpin, bridge string, tick <-chan time.Time) {
	log = logging.OrDiscard(log).WithField("bridge", bridge)
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		changed, err := h.Ensure(ctx, bridge)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if msg != last && msg != "" {
			log.WithError(err).Warn("hairpin mode on the pods' bridge failed; retrying")
		}
		last = msg
		if len(changed) > 0 {
			log.WithField("ports", changed).Debug("hairpin mode on")
		}
	}
}
