package etcd

import (
	"context"
	"errors"
	"fmt"
	"math"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// Watch implements store.Store.
func (s *Store) Watch(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	return s.watch(ctx, res, opts, true)
}

// WatchShared implements store.SharedWatcher: Watch whose objects are shared
// with other watchers, read only.
func (s *Store) WatchShared(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	return s.watch(ctx, res, opts, false)
}

func (s *Store) watch(ctx context.Context, res api.Resource, opts store.ListOptions, copies bool) (<-chan store.Event, error) {
	if api.New(res) == nil || res == api.Bindings {
		return nil, api.NewBadRequest(fmt.Sprintf("cannot watch %q", res))
	}
	if opts.ResourceVersion >= math.MaxInt64 {
		// etcd revisions are int64: rv+1 would overflow.
		return nil, api.NewBadRequest(fmt.Sprintf("invalid resourceVersion %d: want a value below 2^63-1", opts.ResourceVersion))
	}
	prefix := listPrefix(res, opts.Namespace)
	// Read the current revision first: a watch "from now" starts after it,
	// and a watch from an older revision is checked against compaction.
	cur, err := s.Revision(ctx)
	if err != nil {
		return nil, err
	}
	from := int64(opts.ResourceVersion) + 1
	if opts.ResourceVersion == 0 {
		from = int64(cur) + 1
	} else if from <= int64(cur) {
		// A read at the start revision fails with ErrCompacted if that part
		// of the history is gone. (Only asked for a past revision: a future
		// one would fail too, and make the client log a retry warning.)
		_, err := s.cli.Get(ctx, store.KeyPrefix+"revision", clientv3.WithRev(from), clientv3.WithCountOnly())
		switch {
		case err == nil, errors.Is(err, rpctypes.ErrFutureRev):
		case errors.Is(err, rpctypes.ErrCompacted):
			return nil, gone(opts.ResourceVersion)
		default:
			return nil, storeErr("watch", prefix, err)
		}
	}
	if b, sub, ok := s.subscribe(res, from, int64(cur), opts); ok {
		return s.watchShared(ctx, b, sub, opts, from, copies), nil
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	wch := s.cli.Watch(wctx, prefix, clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(from))
	out := make(chan store.Event)
	go func() {
		defer close(out)
		defer cancel()
		send := func(ev store.Event) bool {
			select {
			case out <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for resp := range wch {
			if resp.CompactRevision != 0 {
				send(store.Event{Type: store.Error, Object: &gone(opts.ResourceVersion).Status})
				return
			}
			if err := resp.Err(); err != nil {
				if ctx.Err() == nil {
					st := storeErr("watch", prefix, err).(*api.StatusError).Status
					send(store.Event{Type: store.Error, Object: &st})
				}
				return
			}
			for _, e := range resp.Events {
				ev, ok := s.convert(res, opts, e)
				if ok && !send(ev) {
					return
				}
			}
		}
	}()
	return out, nil
}

func gone(rv uint64) *api.StatusError {
	return api.NewGone(fmt.Sprintf("resourceVersion %d is older than the history etcd keeps: re-list", rv))
}

// convert turns an etcd event into what a watcher with opts sees. A value
// that does not decode is as if absent (undecodable.go): a put of one over
// a good value is seen as a delete.
func (s *Store) convert(res api.Resource, opts store.ListOptions, e *clientv3.Event) (store.Event, bool) {
	rev := e.Kv.ModRevision
	var prev, cur api.Object
	if e.PrevKv != nil {
		prev = s.decodeOrSkip(res, e.PrevKv, e.PrevKv.ModRevision)
	}
	if e.Type == clientv3.EventTypePut {
		cur = s.decodeOrSkip(res, e.Kv, rev)
	}
	ev, ok := store.FilterEvent(opts, prev, cur)
	if ok {
		ev.Object.Meta().ResourceVersion = uint64(rev)
	}
	return ev, ok
}
