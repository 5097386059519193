package roles

import (
	"context"
	"fmt"
	"strings"

	"github.com/sirupsen/logrus"

	"kubelite/internal/component"
)

// plan is a role's components in start order, plus the parts the role
// needs that this build does not have yet.
type plan struct {
	role    string
	comps   []component.Component
	missing []string
}

func (p *plan) add(c ...component.Component) { p.comps = append(p.comps, c...) }

// lack records a part the role needs whose package has not landed yet.
func (p *plan) lack(part string) { p.missing = append(p.missing, part) }

// run starts the plan's components and blocks until ctx ends or one fails.
func (p *plan) run(ctx context.Context) error {
	if len(p.missing) > 0 {
		return fmt.Errorf("%s cannot run yet: this build has no %s", p.role, strings.Join(p.missing, ", "))
	}
	log := logrus.WithField("component", p.role)
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
