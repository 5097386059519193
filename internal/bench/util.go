package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// benchPod is a pod of about 1.5 KB of JSON, like a real one.
func benchPod(id string, labels map[string]string) *api.Pod {
	env := make([]api.EnvVar, 0, 12)
	for i := 0; i < 12; i++ {
		env = append(env, api.EnvVar{Name: fmt.Sprintf("BENCH_SETTING_%02d", i), Value: strings.Repeat("v", 40)})
	}
	return &api.Pod{
		TypeMeta: api.TypeMeta{ID: id, Namespace: api.DefaultNamespace, Labels: labels},
		DesiredState: api.PodState{Manifest: api.ContainerManifest{Version: "v1beta1", ID: id,
			Containers: []api.Container{{Name: "web", Image: "kubelite/webserver:v1", CPU: 10, Memory: 1 << 20,
				Ports: []api.Port{{ContainerPort: 80}}, Env: env}}}},
	}
}

// counter tracks, through an informer, how many pods satisfy a predicate,
// incrementally so that 30,000 pods cost O(1) per change.
type counter struct {
	inf  *store.Informer
	pred func(*api.Pod) bool

	mu    sync.Mutex
	state map[string]bool
	n     int
	wake  chan struct{}
}

func newCounter(st store.Store, opts store.ListOptions, pred func(*api.Pod) bool) *counter {
	c := &counter{pred: pred, state: map[string]bool{}, wake: make(chan struct{}, 1)}
	c.inf = store.NewInformer(st, api.Pods, opts, c.changed)
	return c
}

func (c *counter) changed(key string) {
	obj, ok := c.inf.Get(key)
	now := ok && c.pred(obj.(*api.Pod))
	c.mu.Lock()
	if c.state[key] != now {
		if now {
			c.n++
		} else {
			c.n--
		}
	}
	if now {
		c.state[key] = true
	} else {
		delete(c.state, key)
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// start runs the informer until ctx ends and waits for its first list.
func (c *counter) start(ctx context.Context) error {
	go func() { _ = c.inf.Run(ctx) }()
	if !c.inf.WaitSynced(ctx) {
		return ctx.Err()
	}
	return nil
}

// waitFor blocks until cond(count) holds or timeout passes.
func (c *counter) waitFor(ctx context.Context, timeout time.Duration, what string, cond func(n int) bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		if cond(c.count()) {
			return nil
		}
		select {
		case <-c.wake:
		case <-deadline.C:
			return fmt.Errorf("%s: not reached within %s (count %d)", what, timeout, c.count())
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func running(p *api.Pod) bool { return p.CurrentState.Phase == api.PodPhaseRunning }
func bound(p *api.Pod) bool   { return p.DesiredState.Host != "" }

// createMany creates pods with workers goroutines.
func createMany(ctx context.Context, st store.Store, pods []*api.Pod, workers int) error {
	ch := make(chan *api.Pod)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range ch {
				if err := createRetry(ctx, st, p); err != nil {
					errs <- fmt.Errorf("create pod %s: %w", p.ID, err)
					return
				}
			}
		}()
	}
	var err error
loop:
	for _, p := range pods {
		select {
		case ch <- p:
		case err = <-errs:
			break loop
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(ch)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// transient reports errors any client retries: the store timed out or was
// unavailable under load, the connection broke mid-request (a POST on
// a kept-alive connection the loaded master closed: net/http does not
// resend it; the write may or may not have happened) or could not be made
// in time.
func transient(err error) bool {
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	// Any timeout: a connect that timed out (the master's accept queue
	// full at 5,000 minions) sent nothing; the client's own timeout (30 s)
	// awaiting a connection or the answer of a master too busy to give
	// it: the write may or may not have happened, as with etcd's "request
	// timed out" (150,000-pod runs on slow machines failed so at pods
	// 125,823 and 134,717; the remote store passes net/http's error on
	// without its *url.Error). A refused connect is no timeout: no
	// master, not a busy one.
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var se *api.StatusError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Status.Reason {
	case api.ReasonInternal, api.ReasonUnavailable, api.ReasonTimeout:
		return true
	}
	// 429: the API's in-flight cap or rate limit; retry later, as asked.
	return se.Status.Code == http.StatusTooManyRequests
}

// createBackoff is createRetry's schedule (tests shorten it).
var createBackoff = struct {
	first, max time.Duration
	retries    int
}{100 * time.Millisecond, 5 * time.Second, 30}

// createRetry creates obj, retrying transient errors (etcd "request timed
// out" on an overloaded machine, 429) up to 30 times with backoff from
// 100 ms doubling to 5 s (about 2 min 6 s in all), as any client would;
// AlreadyExists after a retry means an earlier attempt got through. A loaded
// machine makes a scenario slow, never failed (5 retries, 3 s in all, failed
// a 45,000-pod scale run at load 49 on a 429 from the in-flight cap; 10, 26 s
// in all, failed a 150,000-pod run whose master refused for longer).
func createRetry(ctx context.Context, st store.Store, obj api.Object) error {
	backoff := createBackoff.first
	for attempt := 0; ; attempt++ {
		_, err := st.Create(ctx, obj)
		switch {
		case err == nil:
			return nil
		case attempt > 0 && api.IsAlreadyExists(err):
			return nil
		case attempt < createBackoff.retries && transient(err):
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, createBackoff.max)
		default:
			return err
		}
	}
}
