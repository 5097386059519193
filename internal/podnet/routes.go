package podnet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Proto is the routing protocol number podnet tags its routes with, so that it
// lists and deletes only its own.
const Proto = 77

// Routes reads and changes this host's podnet routes (main table).
type Routes interface {
	// List returns the routes tagged with Proto.
	List(ctx context.Context) ([]Route, error)
	// Set adds the route, or replaces a route to the same destination.
	Set(ctx context.Context, r Route) error
	// Delete removes the route; a missing route is not an error.
	Delete(ctx context.Context, r Route) error
}

// IPRoutes is the real Routes: it runs the ip command (iproute2) in the
// calling process's network namespace.
type IPRoutes struct {
	// Run runs a command and returns its standard output; nil runs it with os/exec.
	Run func(ctx context.Context, argv ...string) ([]byte, error)
}

var _ Routes = IPRoutes{}

func (r IPRoutes) run(ctx context.Context, argv ...string) ([]byte, error) {
	if r.Run != nil {
		return r.Run(ctx, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

var proto = strconv.Itoa(Proto)

// List implements Routes.
func (r IPRoutes) List(ctx context.Context) ([]Route, error) {
	out, err := r.run(ctx, "ip", "-j", "-4", "route", "show", "table", "main", "proto", proto)
	if err != nil {
		return nil, fmt.Errorf("list routes: %w", err)
	}
	return parseRoutes(out)
}

// Set implements Routes.
func (r IPRoutes) Set(ctx context.Context, rt Route) error {
	if _, err := r.run(ctx, "ip", "route", "replace", rt.Dst.String(), "via", rt.Via.String(), "proto", proto); err != nil {
		return fmt.Errorf("set route %s: %w", rt, err)
	}
	return nil
}

// Delete implements Routes.
func (r IPRoutes) Delete(ctx context.Context, rt Route) error {
	if _, err := r.run(ctx, "ip", "route", "del", rt.Dst.String(), "proto", proto); err != nil {
		if strings.Contains(err.Error(), "No such process") { // already gone
			return nil
		}
		return fmt.Errorf("delete route %s: %w", rt, err)
	}
	return nil
}

// parseRoutes reads `ip -j route show` output, keeping routes with a gateway.
func parseRoutes(out []byte) ([]Route, error) {
	var raw []struct {
		Dst     string `json:"dst"`
		Gateway string `json:"gateway"`
	}
	if len(strings.TrimSpace(string(out))) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(out, &raw); err != nil {
		return nil, fmt.Errorf("parse routes: %w", err)
	}
	var routes []Route
	for _, r := range raw {
		if r.Gateway == "" {
			continue
		}
		dst, err := netip.ParsePrefix(r.Dst)
		if err != nil {
			// ip prints a host route without its /32.
			a, aerr := netip.ParseAddr(r.Dst)
			if aerr != nil {
				return nil, fmt.Errorf("parse route destination %q: %w", r.Dst, err)
			}
			dst = netip.PrefixFrom(a, a.BitLen())
		}
		via, err := netip.ParseAddr(r.Gateway)
		if err != nil {
			return nil, fmt.Errorf("parse route gateway %q: %w", r.Gateway, err)
		}
		routes = append(routes, Route{Dst: dst, Via: via})
	}
	return routes, nil
}

// FakeRoutes is an in-memory Routes that records every change as text.
type FakeRoutes struct {
	mu     sync.Mutex
	routes map[netip.Prefix]netip.Addr
	Log    []string // "set <route>" / "del <route>"
	Err    error    // when set, every call fails with it
}

var _ Routes = (*FakeRoutes)(nil)

// List implements Routes.
func (f *FakeRoutes) List(context.Context) ([]Route, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return nil, f.Err
	}
	var out []Route
	for d, v := range f.routes {
		out = append(out, Route{Dst: d, Via: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dst.String() < out[j].Dst.String() })
	return out, nil
}

// Set implements Routes.
func (f *FakeRoutes) Set(_ context.Context, r Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return f.Err
	}
	if f.routes == nil {
		f.routes = map[netip.Prefix]netip.Addr{}
	}
	f.routes[r.Dst.Masked()] = r.Via
	f.Log = append(f.Log, "set "+r.String())
	return nil
}

// Delete implements Routes.
func (f *FakeRoutes) Delete(_ context.Context, r Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Err != nil {
		return f.Err
	}
	delete(f.routes, r.Dst.Masked())
	f.Log = append(f.Log, "del "+r.String())
	return nil
}
