package podnet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/logging"
	"kubelite/internal/netfilter"
)

// Syncer keeps one minion's pod routes and rules in line with the minion list.
// It is not safe for concurrent use: one goroutine (Run) drives it.
type Syncer struct {
	cfg    Config
	routes Routes
	ipt    netfilter.Interface
	log    *logrus.Entry
	last   string // problems last logged, to log each change once
}

// New returns a Syncer for the minion described by cfg. ClusterCIDR is required.
func New(cfg Config, routes Routes, ipt netfilter.Interface) (*Syncer, error) {
	if !cfg.ClusterCIDR.IsValid() || !cfg.ClusterCIDR.Addr().Is4() {
		return nil, fmt.Errorf("pod network: cluster CIDR %q: want an IPv4 prefix", cfg.ClusterCIDR)
	}
	cfg.ClusterCIDR = cfg.ClusterCIDR.Masked()
	return &Syncer{cfg: cfg, routes: routes, ipt: ipt, log: logging.OrDiscard(cfg.Log)}, nil
}

// Sync converges this host to the routes and rules for minions, the whole
// current minion list. It returns the plan it applied; problems with the list
// are in the plan (and logged when they change), not errors.
func (s *Syncer) Sync(ctx context.Context, minions []Minion) (Plan, error) {
	plan := MakePlan(s.cfg, minions)
	if p := strings.Join(plan.Problems, "; "); p != s.last {
		s.last = p
		if p != "" {
			s.log.WithField("problems", p).Warn("minions left out of the pod network")
		}
	}
	var errs []error
	if err := s.syncRoutes(ctx, plan.Routes); err != nil {
		errs = append(errs, err)
	}
	if err := s.syncRules(); err != nil {
		errs = append(errs, err)
	}
	return plan, errors.Join(errs...)
}

func (s *Syncer) syncRoutes(ctx context.Context, desired []Route) error {
	current, err := s.routes.List(ctx)
	if err != nil {
		return fmt.Errorf("sync pod routes: %w", err)
	}
	set, del := DiffRoutes(current, desired)
	var errs []error
	for _, r := range del {
		if err := s.routes.Delete(ctx, r); err != nil {
			errs = append(errs, err)
		} else {
			s.log.WithField("route", r.String()).Info("deleted pod route")
		}
	}
	for _, r := range set {
		if err := s.routes.Set(ctx, r); err != nil {
			errs = append(errs, err)
		} else {
			s.log.WithField("route", r.String()).Info("set pod route")
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sync pod routes: %w", err)
	}
	return nil
}

func (s *Syncer) syncRules() error {
	if err := s.ipt.Restore(Rules(s.cfg.ClusterCIDR)); err != nil {
		return fmt.Errorf("sync pod network rules: %w", err)
	}
	for _, j := range []struct {
		table netfilter.Table
		chain netfilter.Chain
		jump  string
	}{
		{netfilter.TableNAT, netfilter.ChainPostrouting, natJump},
		{netfilter.TableFilter, netfilter.ChainForward, filterJump},
	} {
		if err := s.jumpFirst(j.table, j.chain, j.jump); err != nil {
			return fmt.Errorf("sync pod network rules: %w", err)
		}
	}
	return nil
}

// jumpFirst makes jump the first rule of table/chain.
func (s *Syncer) jumpFirst(table netfilter.Table, chain netfilter.Chain, jump string) error {
	save, err := s.ipt.Save(table)
	if err != nil {
		return err
	}
	deletes, insert := jumpFix(netfilter.Rules(save, table, chain), jump)
	args := strings.Fields(jump)
	for range deletes {
		if err := s.ipt.DeleteRule(table, chain, args...); err != nil {
			return err
		}
	}
	if insert {
		if _, err := s.ipt.EnsureRule(netfilter.Prepend, table, chain, args...); err != nil {
			return err
		}
	}
	return nil
}

// Teardown removes podnet's routes, jumps and chains from this host.
func (s *Syncer) Teardown(ctx context.Context) error {
	var errs []error
	if current, err := s.routes.List(ctx); err != nil {
		errs = append(errs, err)
	} else {
		for _, r := range current {
			if err := s.routes.Delete(ctx, r); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, j := range []struct {
		table netfilter.Table
		chain netfilter.Chain
		own   netfilter.Chain
	}{
		{netfilter.TableNAT, netfilter.ChainPostrouting, NATChain},
		{netfilter.TableFilter, netfilter.ChainForward, FilterChain},
	} {
		save, err := s.ipt.Save(j.table)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		jump := "-j " + string(j.own)
		for _, r := range netfilter.Rules(save, j.table, j.chain) {
			if r == jump {
				if err := s.ipt.DeleteRule(j.table, j.chain, "-j", string(j.own)); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if hasChain(save, j.table, j.own) {
			var b netfilter.Builder
			b.DeleteChain(j.table, j.own)
			if err := s.ipt.Restore(b.Bytes()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tear down pod network: %w", err)
	}
	return nil
}

func hasChain(save []byte, table netfilter.Table, chain netfilter.Chain) bool {
	for _, c := range netfilter.Chains(save, table) {
		if c == chain {
			return true
		}
	}
	return false
}

// Run syncs on every minion list received from updates, and again with the
// last list on every tick of resync (repairing what others changed: Docker
// moving its rules first, a route deleted by hand). Errors are logged and
// retried on the next tick. It returns when ctx ends.
func (s *Syncer) Run(ctx context.Context, updates <-chan []Minion, resync <-chan time.Time) error {
	var last []Minion
	have := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-updates:
			if !ok {
				updates = nil // closed: keep resyncing the last list
				continue
			}
			last, have = m, true
		case <-resync:
			if !have {
				continue
			}
		}
		if _, err := s.Sync(ctx, last); err != nil {
			s.log.WithError(err).Warn("pod network sync failed; retrying on the next resync")
		}
	}
}
