package roles

import (
	"context"
	"errors"
	"strings"

	"github.com/sirupsen/logrus"

	"kubelite/internal/component"
)

// plan is a role's components in start order, and what to release after
// they stopped.
type plan struct {
	role     string
	comps    []component.Component
	cleanups []func()
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
	log := logrus.WithField("component", p.role)
	if len(p.comps) == 0 {
		return errors.New(p.role + " has nothing to run in this build")
	}
	names := make([]string, len(p.comps))
	for i, c := range p.comps {
		names[i] = c.Name()
	}
	log.Debugf("starting %s", strings.Join(names, ", "))
	r := component.Runner{OnStarted: func(name string) { log.Debugf("%s started", name) }}
	if err := r.Run(ctx, p.comps...); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}
