package proxy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/logging"
	"kubelite/internal/metrics"
	"kubelite/internal/netfilter"
	"kubelite/internal/store"
)

// Mode is how services are implemented on a minion.
type Mode string

// Modes of --proxy-mode.
const (
	ModeIptables  Mode = "iptables"
	ModeUserspace Mode = "userspace"
	ModeNone      Mode = "none"
)

// ParseMode checks a --proxy-mode value; "" means iptables.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", ModeIptables:
		return ModeIptables, nil
	case ModeUserspace, ModeNone:
		return Mode(s), nil
	}
	return "", fmt.Errorf("proxy mode %q: want iptables, userspace or none", s)
}

// Defaults.
const (
	DefaultSyncPeriod      = 5 * time.Second
	DefaultAffinityTimeout = 3 * time.Hour
)

// Config configures a Proxy.
type Config struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log *logrus.Entry
	// Store is where services and endpoints are watched.
	Store store.Store
	// Mode is iptables (default), userspace or none.
	Mode Mode
	// HostIP is the minion's own address: of a service's publicIPs, only this
	// one is answered here. Empty answers on every public IP (standalone).
	HostIP string
	// SyncPeriod is how often rules are rewritten even without a change
	// (default 5 s), which heals a flushed chain.
	SyncPeriod time.Duration
	// Netfilter runs iptables (required unless Mode is none).
	Netfilter netfilter.Interface
	// AffinityTimeout is how long a ClientIP-affine client stays with its
	// endpoint after its last connection (default 3 h).
	AffinityTimeout time.Duration
	// BindAddress is where userspace listeners listen (default: every address).
	BindAddress string
	// Clock is the time source of the userspace balancer (default: real).
	Clock clock.Clock
	// OnSync, if set, is called after every sync (tests, metrics).
	OnSync func(SyncResult)
}

// SyncResult describes one sync.
type SyncResult struct {
	// ResourceVersion is the highest resourceVersion among the services and
	// endpoints this sync saw: a change with a lower or equal version is in
	// effect once the sync succeeded.
	ResourceVersion uint64
	Full            bool          // every chain rewritten (else only the changed ones)
	Services        int           // services programmed
	Bytes           int           // size of the restore text (0: nothing changed)
	Duration        time.Duration // time taken, iptables included
	Err             error
}

// Proxy is the service proxy component.
type Proxy struct {
	cfg  Config
	log  *logrus.Entry
	kick chan struct{}

	svcs, eps *store.Informer
	us        *userspace
	bal       *balancer
	rep       *logging.Repeater // sync failures
	// listen opens userspace listeners and returns their ports (tests replace it).
	listen func(svcs []service, preferred map[string]int) (map[string]int, []error)

	mu           sync.Mutex
	lastProblems string
	preferred    map[string]int    // userspace ports found in KUBE-PROXY at start
	known        existingChains    // kubelite's chains after the last successful sync; nil = unknown
	written      map[string]string // "table/chain" -> rules the last successful sync left in it
}

// New checks cfg and returns a Proxy; Run does the work.
func New(cfg Config) (*Proxy, error) {
	mode, err := ParseMode(string(cfg.Mode))
	if err != nil {
		return nil, err
	}
	cfg.Mode = mode
	if mode != ModeNone {
		if cfg.Store == nil {
			return nil, errors.New("proxy: no store")
		}
		if cfg.Netfilter == nil {
			return nil, errors.New("proxy: no netfilter")
		}
	}
	if cfg.SyncPeriod <= 0 {
		cfg.SyncPeriod = DefaultSyncPeriod
	}
	if cfg.AffinityTimeout <= 0 {
		cfg.AffinityTimeout = DefaultAffinityTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	p := &Proxy{
		cfg:  cfg,
		log:  logging.OrDiscard(cfg.Log).WithField("mode", string(mode)),
		kick: make(chan struct{}, 1),
	}
	p.rep = logging.NewRepeater(logging.RepeaterConfig{Log: p.log, Clock: cfg.Clock, What: "sync the service rules",
		Hint: "iptables-restore on this host (kubelite doctor minion), and the services' and endpoints' watch"})
	p.bal = newBalancer(cfg.Clock, cfg.AffinityTimeout)
	p.us = newUserspace(p.log, p.bal, cfg.BindAddress)
	p.listen = p.us.ensure
	return p, nil
}

// Name implements component.Component.
func (p *Proxy) Name() string { return "proxy" }

func (p *Proxy) trigger(string) {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Run watches services and endpoints and keeps the rules in sync until ctx
// ends. It calls started once the first sync after loading every service and
// endpoint was attempted. Rules are left in place when Run returns, so a
// restarted proxy serves without a gap (iptables mode); Cleanup removes them.
func (p *Proxy) Run(ctx context.Context, started func()) error {
	if p.cfg.Mode == ModeNone {
		p.log.Info("proxy mode none: not proxying services")
		started()
		<-ctx.Done()
		return nil
	}
	p.known, p.written = nil, nil // a new run reads what exists first
	ctx, cancel := context.WithCancel(ctx)
	p.svcs = store.NewInformer(p.cfg.Store, api.Services, store.ListOptions{}, p.trigger).WithLog(p.log)
	p.eps = store.NewInformer(p.cfg.Store, api.EndpointsResource, store.ListOptions{}, p.trigger).WithLog(p.log)
	wait := store.StartInformers(ctx, p.svcs, p.eps)
	defer func() {
		cancel()
		wait()
		p.us.closeAll()
	}()
	if !p.svcs.WaitSynced(ctx) || !p.eps.WaitSynced(ctx) {
		return nil
	}
	if p.cfg.Mode == ModeUserspace {
		p.preferred = p.recoverPorts()
	}
	select { // the initial lists queued a kick the first sync covers
	case <-p.kick:
	default:
	}
	p.syncAndReport(true)
	started()
	p.log.Info("proxy started")
	tick := time.NewTicker(p.cfg.SyncPeriod)
	defer tick.Stop()
	for {
		full := false
		select {
		case <-ctx.Done():
			return nil
		case <-p.kick:
		case <-tick.C:
			full = true
		}
		p.syncAndReport(full)
	}
}

func (p *Proxy) syncAndReport(full bool) {
	start := time.Now()
	svcObjs, epObjs := p.snapshot()
	var rv uint64
	for _, s := range svcObjs {
		rv = max(rv, s.ResourceVersion)
	}
	for _, e := range epObjs {
		rv = max(rv, e.ResourceVersion)
	}
	n, size, err := p.syncObjects(svcObjs, epObjs, full)
	res := SyncResult{ResourceVersion: rv, Full: full, Services: n, Bytes: size, Duration: time.Since(start), Err: err}
	metrics.ProxySyncDuration.Observe(res.Duration.Seconds())
	if err != nil {
		p.rep.Fail(err)
	} else {
		p.rep.OK()
		p.log.WithFields(logrus.Fields{"services": n, "bytes": size, "took": res.Duration}).Debug("synced")
	}
	if p.cfg.OnSync != nil {
		p.cfg.OnSync(res)
	}
}

// snapshot reads services and endpoints from the informers.
func (p *Proxy) snapshot() ([]*api.Service, []*api.Endpoints) {
	var svcs []*api.Service
	for _, o := range p.svcs.List() {
		if s, ok := o.(*api.Service); ok {
			svcs = append(svcs, s)
		}
	}
	var eps []*api.Endpoints
	for _, o := range p.eps.List() {
		if e, ok := o.(*api.Endpoints); ok {
			eps = append(eps, e)
		}
	}
	return svcs, eps
}

// syncObjects converges iptables (and userspace listeners) on svcObjs and epObjs.
// A full sync rewrites all of kubelite's chains and checks the jumps; an
// incremental one writes only what changed (nothing, if nothing did).
func (p *Proxy) syncObjects(svcObjs []*api.Service, epObjs []*api.Endpoints, full bool) (int, int, error) {
	svcs, problems := servicesFrom(svcObjs, epObjs, p.cfg.HostIP)
	p.reportProblems(problems)
	// Reading the tables is slow with many chains (iptables-save on
	// nf_tables), so it is done only when what exists is unknown: on the
	// first sync and after a failed one. Otherwise the chains that exist are
	// the ones the last successful sync declared.
	existing := p.known
	first := existing == nil
	if first {
		var err error
		if existing, err = readExisting(p.cfg.Netfilter); err != nil {
			return 0, 0, err
		}
		if err := removeForeignJumps(p.cfg.Netfilter, p.cfg.Mode, existing); err != nil {
			return 0, 0, err
		}
	}
	var b *netfilter.Builder
	switch p.cfg.Mode {
	case ModeIptables:
		b = planIptables(svcs, existing, p.cfg.AffinityTimeout)
	case ModeUserspace:
		p.bal.update(svcs)
		ports, errs := p.listen(svcs, p.preferred)
		for _, e := range errs {
			p.log.WithError(e).Warn("userspace listener")
		}
		b = planUserspace(svcs, ports, existing)
	}
	// A full sync rewrites every chain (healing anything done to them); an
	// incremental one only the chains whose rules changed since the last
	// successful sync, and deletes the ones no longer needed.
	var text []byte
	if full || p.written == nil {
		text = b.Bytes()
	} else {
		text = b.Filtered(func(t netfilter.Table, c netfilter.Chain) bool {
			old, ok := p.written[string(t)+"/"+string(c)]
			return !ok || old != b.ChainText(t, c)
		})
	}
	if len(text) > 0 {
		if err := p.cfg.Netfilter.Restore(text); err != nil {
			p.known, p.written = nil, nil
			return 0, len(text), fmt.Errorf("apply rules of %d services: %w", len(svcs), err)
		}
	}
	p.known = b.Declared()
	p.written = map[string]string{}
	for t, cs := range p.known {
		for _, c := range cs {
			p.written[string(t)+"/"+string(c)] = b.ChainText(t, c)
		}
	}
	if p.cfg.Mode == ModeUserspace {
		p.us.closeStale() // no rule points at them any more
	}
	if !full && !first {
		return len(svcs), len(text), nil
	}
	for _, j := range jumpsFor(p.cfg.Mode) {
		if _, err := p.cfg.Netfilter.EnsureRule(netfilter.Prepend, j.Table, j.Chain, j.Args...); err != nil {
			return len(svcs), len(text), fmt.Errorf("ensure jump from %s/%s: %w", j.Table, j.Chain, err)
		}
	}
	return len(svcs), len(text), nil
}

func (p *Proxy) reportProblems(problems []string) {
	joined := strings.Join(problems, "\n")
	p.mu.Lock()
	changed := joined != p.lastProblems
	p.lastProblems = joined
	p.mu.Unlock()
	if changed {
		for _, pr := range problems {
			p.log.Warn(pr)
		}
	}
}

// readExisting lists kubelite's chains in the nat and filter tables.
func readExisting(nf netfilter.Interface) (existingChains, error) {
	out := existingChains{}
	for _, t := range []netfilter.Table{netfilter.TableNAT, netfilter.TableFilter} {
		save, err := nf.Save(t)
		if err != nil {
			return nil, fmt.Errorf("read %s table: %w", t, err)
		}
		for _, c := range netfilter.Chains(save, t) {
			if ownChain(c) {
				out[t] = append(out[t], c)
			}
		}
	}
	return out, nil
}

// removeForeignJumps deletes the jumps of other modes into chains that exist,
// so the sync can delete those chains (a mode switch).
func removeForeignJumps(nf netfilter.Interface, mode Mode, existing existingChains) error {
	mine := map[string]bool{}
	for _, j := range jumpsFor(mode) {
		mine[string(j.Table)+" "+string(j.Chain)+" "+netfilter.Join(j.Args)] = true
	}
	for _, j := range allJumps() {
		if mine[string(j.Table)+" "+string(j.Chain)+" "+netfilter.Join(j.Args)] {
			continue
		}
		target := netfilter.Chain(j.Args[len(j.Args)-1])
		for _, c := range existing[j.Table] {
			if c == target {
				if err := nf.DeleteRule(j.Table, j.Chain, j.Args...); err != nil {
					return fmt.Errorf("remove jump to %s: %w", target, err)
				}
			}
		}
	}
	return nil
}

// recoverPorts reads the proxy ports of the last run from KUBE-PROXY, so a
// restarted userspace proxy listens where the rules already point.
func (p *Proxy) recoverPorts() map[string]int {
	save, err := p.cfg.Netfilter.Save(netfilter.TableNAT)
	if err != nil {
		return nil
	}
	out := map[string]int{}
	for _, r := range netfilter.Rules(save, netfilter.TableNAT, chainUserspace) {
		w, err := netfilter.Split(r)
		if err != nil {
			continue
		}
		var name string
		port := 0
		for i := 0; i+1 < len(w); i++ {
			switch w[i] {
			case "--comment":
				name = w[i+1]
			case "--to-ports":
				port, _ = strconv.Atoi(w[i+1])
			}
		}
		if name != "" && port > 0 {
			out[name] = port
		}
	}
	return out
}

// Cleanup removes every rule and chain kubelite's proxy ever wrote, in
// either mode (kubelite minion --cleanup-iptables).
func Cleanup(nf netfilter.Interface) error {
	for _, j := range allJumps() {
		if err := nf.DeleteRule(j.Table, j.Chain, j.Args...); err != nil {
			return fmt.Errorf("cleanup: %w", err)
		}
	}
	existing, err := readExisting(nf)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	text := planCleanup(existing)
	if len(text) == 0 {
		return nil
	}
	if err := nf.Restore(text); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	return nil
}
