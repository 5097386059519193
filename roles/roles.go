package roles

import (
	"context"
	"errors"
	"strings"

	"github.com/sirupsen/logrus"

	"kubelite/internal/component"
	"kubelite/internal/exepages"
	"kubelite/internal/logging"
)

// plan is a role's components in start order, and what to release after
// they stopped.
type plan struct {
	role     string
	log      *logrus.Logger // the role's: components get log.WithField("component", name)
	comps    []component.Component
	cleanups []func()
	// allStarted runs, in a goroutine of its own, once every component
	// has started: releaseStartPages, which tests replace.
	allStarted func(log *logrus.Entry)
}

// newPlan returns an empty plan of role, logging to ctx's logger.
func newPlan(ctx context.Context, role string) *plan {
	return &plan{role: role, log: logging.FromContext(ctx), allStarted: releaseStartPages}
}

// logger returns the entry handed to one component: the role's logger with
// the component field set, once, here.
func (p *plan) logger(component string) *logrus.Entry {
	if p.log == nil {
		return logging.Discard()
	}
	return p.log.WithField("component", component)
}

func (p *plan) add(c ...component.Component) { p.comps = append(p.comps, c...) }

// cleanup registers f to run after every component stopped (clients, ...).
func (p *plan) cleanup(f func()) { p.cleanups = append(p.cleanups, f) }

// release runs the cleanups in reverse order.
func (p *plan) release() {
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}

// run starts the plan's components and blocks until ctx ends or one fails.
func (p *plan) run(ctx context.Context) error {
	defer p.release()
	log := p.logger(p.role)
	if len(p.comps) == 0 {
		return errors.New(p.role + " has nothing to run in this build")
	}
	names := make([]string, len(p.comps))
	for i, c := range p.comps {
		names[i] = c.Name()
	}
	log.Debugf("starting %s", strings.Join(names, ", "))
	started := 0
	r := component.Runner{OnStarted: func(name string) {
		log.Debugf("%s started", name)
		if started++; started == len(p.comps) && p.allStarted != nil {
			go p.allStarted(log)
		}
	}}
	if err := r.Run(ctx, p.comps...); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// releaseStartPages lets go of the pages of the binary this process
// touched while starting (internal/exepages): an idle minion's RSS (the
// bench's footprint row) falls from 34 to 19 MB. A failure is logged at debug: it only saves memory.
func releaseStartPages(log *logrus.Entry) {
	res, err := exepages.Release(exepages.Self())
	switch {
	case err != nil:
		log.WithError(err).Debug("could not let go of the executable's start-up pages")
	case res.Skipped != "":
		log.Debugf("kept the executable's pages: %s", res.Skipped)
	default:
		log.Debugf("let go of the executable's start-up pages (%d mappings, %.1f MB of addresses)", res.Ranges, float64(res.Bytes)/1e6)
	}
}
