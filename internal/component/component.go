package component

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Component is anything with kubelite's lifecycle; see the package doc.
type Component interface {
	Name() string
	Run(ctx context.Context, started func()) error
}

// Func adapts a function to a Component.
type Func struct {
	N string
	F func(ctx context.Context, started func()) error
}

// Name implements Component.
func (f Func) Name() string { return f.N }

// Run implements Component.
func (f Func) Run(ctx context.Context, started func()) error { return f.F(ctx, started) }

// Loop adapts a function that is ready at once (a control loop) to a Component.
func Loop(name string, run func(ctx context.Context) error) Component {
	return Func{N: name, F: func(ctx context.Context, started func()) error {
		started()
		return run(ctx)
	}}
}

// Runner runs components in order and stops them in reverse.
type Runner struct {
	// StopTimeout bounds how long each component may take to stop (default 30s).
	StopTimeout time.Duration
	// OnStarted, if set, is called after each component has started.
	OnStarted func(name string)
}

// running is one started component. err is written once, before exited closes.
type running struct {
	c       Component
	cancel  context.CancelFunc
	started chan struct{}
	exited  chan struct{}
	err     error
}

func (rc *running) hasStarted() bool {
	select {
	case <-rc.started:
		return true
	default:
		return false
	}
}

// Run starts comps in order and blocks until ctx ends (nil) or one fails (its error).
func (r Runner) Run(ctx context.Context, comps ...Component) error {
	stopTimeout := r.StopTimeout
	if stopTimeout == 0 {
		stopTimeout = 30 * time.Second
	}
	var live []*running
	// exits hears of every component that returns; buffered so no goroutine waits on it.
	exits := make(chan *running, len(comps))
	// stopAll stops live components in reverse; culprit, already reported, is not reported again.
	stopAll := func(culprit *running) error {
		var errs []error
		for i := len(live) - 1; i >= 0; i-- {
			rc := live[i]
			rc.cancel()
			select {
			case <-rc.exited:
				if rc != culprit && rc.err != nil && !errors.Is(rc.err, context.Canceled) {
					errs = append(errs, fmt.Errorf("stop %s: %w", rc.c.Name(), rc.err))
				}
			case <-time.After(stopTimeout):
				errs = append(errs, fmt.Errorf("stop %s: still running after %s", rc.c.Name(), stopTimeout))
			}
		}
		return errors.Join(errs...)
	}
	// failedRunning is the error of a component that returned while nobody asked it to stop.
	failedRunning := func(rc *running) error {
		err := rc.err
		if err == nil {
			err = errors.New("stopped unexpectedly")
		}
		return errors.Join(fmt.Errorf("%s: %w", rc.c.Name(), err), stopAll(rc))
	}
	for _, c := range comps {
		cctx, cancel := context.WithCancel(context.Background())
		rc := &running{c: c, cancel: cancel, started: make(chan struct{}), exited: make(chan struct{})}
		var once sync.Once
		go func() {
			rc.err = c.Run(cctx, func() { once.Do(func() { close(rc.started) }) })
			close(rc.exited)
			exits <- rc
		}()
		select {
		case <-rc.started:
			live = append(live, rc)
			if r.OnStarted != nil {
				r.OnStarted(c.Name())
			}
		case <-rc.exited:
			// Both may be ready at once: one that said it started and then returned
			// failed while running, as it would have a moment later.
			live = append(live, rc)
			if rc.hasStarted() {
				return failedRunning(rc)
			}
			err := rc.err
			if err == nil {
				err = errors.New("returned before it started")
			}
			return errors.Join(fmt.Errorf("start %s: %w", c.Name(), err), stopAll(rc))
		case <-ctx.Done():
			live = append(live, rc)
			return stopAll(nil)
		}
	}
	select {
	case <-ctx.Done():
		return stopAll(nil)
	case rc := <-exits:
		return failedRunning(rc)
	}
}
