package leader

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"kubelite/internal/component"
	"kubelite/internal/logging"
)

// Elector is one candidate of an election; see the package doc.
type Elector interface {
	// Campaign blocks until this candidate leads, ctx ends, or the
	// election fails.
	Campaign(ctx context.Context) (Term, error)
	// Leader returns the identity of the current leader, "" when none.
	Leader(ctx context.Context) (string, error)
}

// Term is one period of leadership.
type Term interface {
	// Lost is closed when leadership ends without Resign.
	Lost() <-chan struct{}
	// Resign gives leadership up now.
	Resign(ctx context.Context) error
}

// DefaultRetryDelay is how long a Gate waits before it campaigns again
// after a failed election or a failed term.
const DefaultRetryDelay = time.Second

// resignTimeout bounds Resign when a term ends.
const resignTimeout = 2 * time.Second

// Config configures a Gate.
type Config struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log *logrus.Entry
	// Elector is this master's candidate; required.
	Elector Elector
	// Identity names this master in logs (the Elector knows it too).
	Identity string
	// Build returns the components to run during one term, in start order;
	// it is called at the start of every term; required.
	Build func() ([]component.Component, error)
	// RetryDelay is the pause after a failed election or term (default
	// DefaultRetryDelay).
	RetryDelay time.Duration
	// StopTimeout bounds how long each component may take to stop (default
	// component.Runner's).
	StopTimeout time.Duration
}

// Gate runs components while this master leads; see the package doc.
type Gate struct {
	cfg     Config
	log     *logrus.Entry
	leading atomic.Bool
	terms   atomic.Int64
}

var _ component.Component = (*Gate)(nil)

// New returns a Gate; nothing happens until Run.
func New(cfg Config) (*Gate, error) {
	if cfg.Elector == nil || cfg.Build == nil {
		return nil, errors.New("leader gate: Elector and Build are required")
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	return &Gate{cfg: cfg, log: logging.OrDiscard(cfg.Log).WithField("identity", cfg.Identity)}, nil
}

// Name implements component.Component.
func (g *Gate) Name() string { return "leader-election" }

// Leading reports whether this master leads now.
func (g *Gate) Leading() bool { return g.leading.Load() }

// Terms returns how many terms this Gate has led.
func (g *Gate) Terms() int64 { return g.terms.Load() }

// Run implements component.Component.
func (g *Gate) Run(ctx context.Context, started func()) error {
	started()
	for {
		term, err := g.cfg.Elector.Campaign(ctx)
		if ctx.Err() != nil {
			if term != nil {
				g.resign(term)
			}
			return nil
		}
		if err != nil {
			g.log.WithError(err).Warn("leader election failed; campaigning again")
			if !g.pause(ctx) {
				return nil
			}
			continue
		}
		err = g.lead(ctx, term)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			g.log.WithError(err).Error("leader's components failed: resigning, campaigning again")
			if !g.pause(ctx) {
				return nil
			}
		}
	}
}

// lead runs one term's components until the term is lost, ctx ends or a
// component fails (its error). It resigns unless the term was lost.
func (g *Gate) lead(ctx context.Context, term Term) error {
	g.terms.Add(1)
	g.leading.Store(true)
	g.log.Info("became leader: running the scheduler and controllers here")
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lost := make(chan struct{})
	go func() {
		select {
		case <-term.Lost():
			close(lost)
			cancel()
		case <-tctx.Done():
		}
	}()
	err := g.runTerm(tctx)
	cancel()
	g.leading.Store(false)
	select {
	case <-lost:
		g.log.Warn("lost leadership: scheduler and controllers stopped; another master takes over")
		return nil
	default:
	}
	g.resign(term)
	if ctx.Err() != nil {
		g.log.Info("resigned leadership: shutting down")
		return nil
	}
	if err == nil {
		err = errors.New("components stopped")
	}
	return err
}

func (g *Gate) runTerm(ctx context.Context) error {
	comps, err := g.cfg.Build()
	if err != nil {
		return fmt.Errorf("build leader components: %w", err)
	}
	r := component.Runner{StopTimeout: g.cfg.StopTimeout}
	return r.Run(ctx, comps...)
}

func (g *Gate) resign(term Term) {
	ctx, cancel := context.WithTimeout(context.Background(), resignTimeout)
	defer cancel()
	if err := term.Resign(ctx); err != nil {
		g.log.WithError(err).Debug("resign")
	}
}

// pause waits RetryDelay; false if ctx ended first.
func (g *Gate) pause(ctx context.Context) bool {
	t := time.NewTimer(g.cfg.RetryDelay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// HealthCheck returns the API's "leader" check: healthy while some master
// leads, and during a hand-over shorter than grace (a leader that died is
// replaced within the lease: readiness must not flap on every master
// meanwhile); an error naming the problem when no master has led for
// longer than grace, or when the election cannot be read.
func HealthCheck(e Elector, grace time.Duration) func(ctx context.Context) error {
	check := HealthNote(e, "", grace)
	return func(ctx context.Context) error {
		_, err := check(ctx)
		return err
	}
}

// HealthNote is HealthCheck that also says, when it passes, who leads, as
// /readyz?verbose shows it: "leader: NAME, this master: yes" (or no: self
// is this master's identity), or "no master leads now" during a hand-over.
func HealthNote(e Elector, self string, grace time.Duration) func(ctx context.Context) (string, error) {
	var mu sync.Mutex
	seen := time.Now() // a master starting is within grace of a leader
	return func(ctx context.Context) (string, error) {
		id, err := e.Leader(ctx)
		if err != nil {
			return "", fmt.Errorf("leader: %w", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if id != "" {
			seen = time.Now()
			this := "no"
			if id == self {
				this = "yes"
			}
			return fmt.Sprintf("leader: %s, this master: %s", id, this), nil
		}
		if since := time.Since(seen); since > grace {
			return "", fmt.Errorf("no master has led for %s: the scheduler and controllers run nowhere", since.Round(time.Second))
		}
		return "no master leads now (a hand-over)", nil
	}
}
