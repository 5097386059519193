package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// DefaultWriteTimeout bounds every write (and single reads and counts) the
// registry makes to its raw store, so that a store unable to commit (etcd
// without quorum) answers 503 within 5 s, never hangs.
const DefaultWriteTimeout = 3 * time.Second

// diagnoseTimeout bounds Config.Diagnose.
const diagnoseTimeout = time.Second

// DefaultListTimeout bounds a List: longer than a write's, since a list
// may be large.
const DefaultListTimeout = 10 * time.Second

// bounded is the raw store with a deadline on each write, Get and Count
// (timeout) and List (listTimeout, never below timeout); one the store could not make in time,
// or that it refused as unavailable, is a 503 whose message says why
// (Config.Diagnose: "etcd quorum lost ..."). Watch passes through: a watch
// lives long.
type bounded struct {
	store.Store
	timeout     time.Duration
	listTimeout time.Duration
	diagnose    func(ctx context.Context) string
}

var (
	_ store.SharedWatcher = bounded{}
	_ store.SharedLister  = bounded{}
	_ counter             = bounded{}
)

// do runs op under the deadline and turns a failure to reach the store
// into a 503 naming the cause. The caller's own cancellation stays as it
// was.
func (b bounded) do(ctx context.Context, what string, op func(ctx context.Context) error) error {
	return b.doErr(ctx, what, false, op)
}

// List implements store.Store under listTimeout.
func (b bounded) List(ctx context.Context, res api.Resource, opts store.ListOptions) (out []api.Object, rv uint64, err error) {
	lb := b
	lb.timeout = max(b.listTimeout, b.timeout)
	err = lb.do(ctx, "list "+string(res), func(ctx context.Context) error {
		out, rv, err = b.Store.List(ctx, res, opts)
		return err
	})
	return out, rv, err
}

// doErr is do; with anyErr every error that is not a Status is a failure
// to reach the store (the portal IP claims return etcd's errors as they
// are).
func (b bounded) doErr(ctx context.Context, what string, anyErr bool, op func(ctx context.Context) error) error {
	octx, cancel := context.WithTimeout(ctx, b.timeout)
	err := op(octx)
	timedOut := errors.Is(octx.Err(), context.DeadlineExceeded)
	cancel()
	if err == nil || ctx.Err() != nil {
		return err
	}
	var se *api.StatusError
	isStatus := errors.As(err, &se)
	unavailable := (isStatus && se.Status.Code == http.StatusServiceUnavailable) || (!isStatus && anyErr)
	if !timedOut && !unavailable {
		return err
	}
	cause := "the store did not answer"
	if b.diagnose != nil {
		dctx, dcancel := context.WithTimeout(ctx, diagnoseTimeout)
		cause = b.diagnose(dctx)
		dcancel()
	}
	msg := fmt.Sprintf("%s: %s", what, cause)
	if timedOut {
		msg = fmt.Sprintf("%s: not done within %s: %s", what, b.timeout, cause)
	}
	return api.NewUnavailable(msg + "; retry later")
}

func (b bounded) Get(ctx context.Context, res api.Resource, ns, id string) (out api.Object, err error) {
	err = b.do(ctx, "read "+string(res)+" "+id, func(ctx context.Context) error {
		out, err = b.Store.Get(ctx, res, ns, id)
		return err
	})
	return out, err
}

func (b bounded) Create(ctx context.Context, obj api.Object) (out api.Object, err error) {
	err = b.do(ctx, "write "+obj.Meta().ID, func(ctx context.Context) error {
		out, err = b.Store.Create(ctx, obj)
		return err
	})
	return out, err
}

// ownedCreator is a store that returns the object it creates instead of a
// copy (store/etcd.CreateOwned); the caller gives the object up.
type ownedCreator interface {
	CreateOwned(ctx context.Context, obj api.Object) (api.Object, error)
}

// CreateOwned is Create of an object the caller gives up: the raw store's
// CreateOwned where it has one.
func (b bounded) CreateOwned(ctx context.Context, obj api.Object) (out api.Object, err error) {
	oc, ok := b.Store.(ownedCreator)
	if !ok {
		return b.Create(ctx, obj)
	}
	err = b.do(ctx, "write "+obj.Meta().ID, func(ctx context.Context) error {
		out, err = oc.CreateOwned(ctx, obj)
		return err
	})
	return out, err
}

// ownedUpdater is a store that returns the object it updates instead of a
// copy (store/etcd.UpdateOwned); the caller gives the object up.
type ownedUpdater interface {
	UpdateOwned(ctx context.Context, obj api.Object) (api.Object, error)
}

// UpdateOwned is Update of an object the caller gives up: the raw store's
// UpdateOwned where it has one.
func (b bounded) UpdateOwned(ctx context.Context, obj api.Object) (out api.Object, err error) {
	ou, ok := b.Store.(ownedUpdater)
	if !ok {
		return b.Update(ctx, obj)
	}
	err = b.do(ctx, "write "+obj.Meta().ID, func(ctx context.Context) error {
		out, err = ou.UpdateOwned(ctx, obj)
		return err
	})
	return out, err
}

func (b bounded) Update(ctx context.Context, obj api.Object) (out api.Object, err error) {
	err = b.do(ctx, "write "+obj.Meta().ID, func(ctx context.Context) error {
		out, err = b.Store.Update(ctx, obj)
		return err
	})
	return out, err
}

func (b bounded) Delete(ctx context.Context, res api.Resource, ns, id string) (out api.Object, err error) {
	err = b.do(ctx, "delete "+string(res)+" "+id, func(ctx context.Context) error {
		out, err = b.Store.Delete(ctx, res, ns, id)
		return err
	})
	return out, err
}

// Count implements counter: the raw store's count when it has one, else
// a list, under the deadline.
func (b bounded) Count(ctx context.Context, res api.Resource, ns string) (n int, err error) {
	err = b.do(ctx, "count "+string(res), func(ctx context.Context) error {
		if c, ok := b.Store.(counter); ok {
			n, err = c.Count(ctx, res, ns)
			return err
		}
		var objs []api.Object
		objs, _, err = b.Store.List(ctx, res, store.ListOptions{Namespace: ns})
		n = len(objs)
		return err
	})
	return n, err
}

func (b bounded) WatchShared(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	if sw, ok := b.Store.(store.SharedWatcher); ok {
		return sw.WatchShared(ctx, res, opts)
	}
	return b.Store.Watch(ctx, res, opts)
}

func (b bounded) ListShared(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	sl, ok := b.Store.(store.SharedLister)
	if !ok {
		return b.List(ctx, res, opts)
	}
	lb := b
	lb.timeout = max(b.listTimeout, b.timeout)
	var (
		out []api.Object
		rv  uint64
	)
	err := lb.do(ctx, "list "+string(res), func(ctx context.Context) (err error) {
		out, rv, err = sl.ListShared(ctx, res, opts)
		return err
	})
	return out, rv, err
}

// boundedClaims is PortalClaims under the same deadline and 503s.
type boundedClaims struct {
	PortalClaims
	b bounded
}

func (c boundedClaims) Claim(ctx context.Context, ip, owner string) (ok bool, err error) {
	err = c.b.doErr(ctx, "claim portal IP "+ip, true, func(ctx context.Context) error {
		ok, err = c.PortalClaims.Claim(ctx, ip, owner)
		return err
	})
	return ok, err
}

func (c boundedClaims) Release(ctx context.Context, ip, owner string) error {
	return c.b.doErr(ctx, "release portal IP "+ip, true, func(ctx context.Context) error {
		return c.PortalClaims.Release(ctx, ip, owner)
	})
}

func (c boundedClaims) List(ctx context.Context) (m map[string]string, err error) {
	err = c.b.doErr(ctx, "list portal IP claims", true, func(ctx context.Context) error {
		m, err = c.PortalClaims.List(ctx)
		return err
	})
	return m, err
}
