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

type running struct {
	c      Component
	cancel context.CancelFunc
	done   chan error
}

// Run starts comps in order and blocks until ctx ends (nil) or one fails (its error).
func (r Runner) Run(ctx context.Context, comps ...Component) error {
	stopTimeout := r.StopTimeout
	if stopTimeout == 0 {
		stopTimeout = 30 * time.Second
	}
	var live []*running
	failed := make(chan error, len(comps))
	stopAll := func() error {
		var errs []error
		for i := len(live) - 1; i >= 0; i-- {
			rc := live[i]
			rc.cancel()
			select {
			case err := <-rc.done:
				if err != nil && !errors.Is(err, context.Canceled) {
					errs = append(errs, fmt.Errorf("stop %s: %w", rc.c.Name(), err))
				}
			case <-time.After(stopTimeout):
				errs = append(errs, fmt.Errorf("stop %s: still running after %s", rc.c.Name(), stopTimeout))
			}
		}
		return errors.Join(errs...)
	}
	for _, c := range comps {
		cctx, cancel := context.WithCancel(context.Background())
		rc := &running{c: c, cancel: cancel, done: make(chan error, 1)}
		startedCh := make(chan struct{})
		var once sync.Once
		go func() {
			err := c.Run(cctx, func() { once.Do(func() { close(startedCh) }) })
			rc.done <- err
			if cctx.Err() == nil {
				if err == nil {
					err = errors.New("stopped unexpectedly")
				}
				failed <- fmt.Errorf("%s: %w", c.Name(), err)
			}
		}()
		select {
		case <-startedCh:
			live = append(live, rc)
			if r.OnStarted != nil {
				r.OnStarted(c.Name())
			}
		case err := <-rc.done:
			cancel()
			if err == nil {
				err = errors.New("returned before it started")
			}
			<-failed // drain the copy the goroutine sent
			stopErr := stopAll()
			return errors.Join(fmt.Errorf("start %s: %w", c.Name(), err), stopErr)
		case <-ctx.Done():
			live = append(live, rc)
			return stopAll()
		}
	}
	select {
	case <-ctx.Done():
		return stopAll()
	case err := <-failed:
		stopErr := stopAll()
		return errors.Join(err, stopErr)
	}
}
