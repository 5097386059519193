package etcd

import (
	"context"
	"reflect"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/api"
)

// The decoded cache: one decoded object per key and mod revision for the
// whole process. Decoding JSON is most of the cost of a large List and of a
// watch event, and every decoded object held twice is memory held twice; so
// lists, the shared watch (both sides of each change: the previous value is
// the one already decoded) and every informer reading them share the same
// object. Cached objects are never mutated and never handed out to a caller
// that may mutate them: List returns api.DeepCopy copies (several times
// cheaper than decoding), ListShared and WatchShared the objects themselves,
// read only. An entry is replaced only by a newer revision; a delete (through
// the store or seen on the shared watch) drops its key; a list of a whole
// resource, or of one namespace, drops the keys it no longer holds. Events
// (short-lived, expired by lease) are not cached.
//
// A List first reads only the keys and their mod revisions (etcd answers
// that from its index, without reading or sending values), and then the
// values of the keys whose revision is not cached, at the same revision:
// listing 1,000 unchanged pods moves their keys, not their 1.5 MB of JSON.

type cacheEntry struct {
	rev int64
	obj api.Object // decoded once, never mutated
}

// cached returns the cached object of key at rev, if any.
func (s *Store) cached(res api.Resource, key []byte, rev int64) (api.Object, bool) {
	s.cacheMu.Lock()
	e, ok := s.cache[res][string(key)]
	s.cacheMu.Unlock()
	if ok && e.rev == rev {
		return e.obj, true
	}
	return nil, false
}

// remember caches obj as key's value at rev, unless a newer one is cached.
func (s *Store) remember(res api.Resource, key string, rev int64, obj api.Object) {
	if res == api.Events || obj == nil {
		return
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	m := s.cache[res]
	if m == nil {
		m = map[string]cacheEntry{}
		s.cache[res] = m
	}
	if e, ok := m[key]; ok && e.rev >= rev {
		return
	}
	m[key] = cacheEntry{rev: rev, obj: obj}
}

// uncache drops key, unless what is cached is newer than rev (0: any).
func (s *Store) uncache(res api.Resource, key string, rev int64) {
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	m := s.cache[res]
	if e, ok := m[key]; ok && (rev == 0 || e.rev < rev) {
		delete(m, key)
	}
}

// decodeShared returns the shared decoded object of kv, from the cache when
// its revision is cached, else decoded (and cached); nil when the value does
// not decode (undecodable.go).
func (s *Store) decodeShared(res api.Resource, kv *mvccpb.KeyValue) api.Object {
	if res != api.Events {
		if o, ok := s.cached(res, kv.Key, kv.ModRevision); ok {
			return o
		}
	}
	s.decodes.Add(1)
	obj := s.decodeOrSkip(res, kv, kv.ModRevision)
	if obj != nil && res != api.Events {
		s.intern.object(obj) // before anyone else holds it
	}
	s.remember(res, string(kv.Key), kv.ModRevision, obj)
	return obj
}

// shallowCopy returns a copy of obj's top-level struct: its maps, slices and
// pointers are shared, read only. It lets a shared object be handed out with
// another resourceVersion (a delete's) without copying it all.
func shallowCopy(obj api.Object) api.Object {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return obj
	}
	c := reflect.New(v.Type().Elem())
	c.Elem().Set(v.Elem())
	return c.Interface().(api.Object)
}

// readList reads the keys under prefix at one revision and returns their
// shared decoded objects in key order (undecodable values left out) and the
// revision. Only the values of keys whose revision is not cached are read.
func (s *Store) readList(ctx context.Context, res api.Resource, prefix string, whole bool) ([]api.Object, int64, error) {
	s.cacheMu.Lock()
	warm := len(s.cache[res]) > 0
	s.cacheMu.Unlock()
	if res == api.Events || !warm {
		resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix())
		if err != nil {
			return nil, 0, storeErr("list", prefix, err)
		}
		rev := resp.Header.Revision
		return s.decodeList(res, prefix, whole, rev, resp.Kvs, nil), rev, nil
	}
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, 0, storeErr("list", prefix, err)
	}
	rev := resp.Header.Revision
	kvs := resp.Kvs
	// The cached objects are taken now: a watch may replace an entry with a
	// newer revision before the values are read, and a keys-only kv has no
	// value to decode.
	objs := make([]api.Object, len(kvs))
	var miss []int
	for i, kv := range kvs {
		if o, ok := s.cached(res, kv.Key, kv.ModRevision); ok {
			objs[i] = o
		} else {
			miss = append(miss, i)
		}
	}
	switch {
	case len(miss) == 0:
	case len(miss) > len(kvs)/4:
		// Many changed: one read of every value at the same revision.
		full, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
		if err != nil {
			return nil, 0, storeErr("list", prefix, err)
		}
		return s.decodeList(res, prefix, whole, rev, full.Kvs, nil), rev, nil
	default:
		// A few changed: read those values at the same revision, up to
		// etcd's 128 operations per transaction.
		const perTxn = 128
		for start := 0; start < len(miss); start += perTxn {
			idx := miss[start:min(start+perTxn, len(miss))]
			ops := make([]clientv3.Op, len(idx))
			for j, i := range idx {
				ops[j] = clientv3.OpGet(string(kvs[i].Key), clientv3.WithRev(rev))
			}
			tr, err := s.cli.Txn(ctx).Then(ops...).Commit()
			if err != nil {
				return nil, 0, storeErr("list", prefix, err)
			}
			for j, i := range idx {
				got := tr.Responses[j].GetResponseRange().Kvs
				if len(got) != 1 {
					// Cannot happen at a fixed revision; read everything.
					full, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithRev(rev))
					if err != nil {
						return nil, 0, storeErr("list", prefix, err)
					}
					return s.decodeList(res, prefix, whole, rev, full.Kvs, nil), rev, nil
				}
				kvs[i] = got[0]
			}
		}
	}
	return s.decodeList(res, prefix, whole, rev, kvs, objs), rev, nil
}

// decodeList returns the objects of kvs (read at revision rev) in order:
// known[i] when known is given and holds one (an object already taken from
// the cache; kvs[i] may then have no value), else from the cache where its
// revision is cached, else decoded. The objects are shared with the cache
// (read only). whole says the list covered every key of res under prefix:
// cached keys under prefix it does not hold are dropped, unless cached at a
// revision after rev.
func (s *Store) decodeList(res api.Resource, prefix string, whole bool, rev int64, kvs []*mvccpb.KeyValue, known []api.Object) []api.Object {
	objs := known
	if objs == nil {
		objs = make([]api.Object, len(kvs))
	}
	// Decode the misses (in parallel when many); a value that does not
	// decode is reported and left out (undecodable.go).
	_ = parallelFor(len(kvs), func(i int) error {
		if objs[i] == nil {
			objs[i] = s.decodeShared(res, kvs[i])
		}
		return nil
	})
	if res == api.Events {
		return dropNil(objs)
	}
	seen := make(map[string]struct{}, len(kvs))
	for _, kv := range kvs {
		seen[string(kv.Key)] = struct{}{}
	}
	s.cacheMu.Lock()
	for k, e := range s.cache[res] {
		if e.rev > rev || (!whole && !strings.HasPrefix(k, prefix)) {
			continue
		}
		if _, ok := seen[k]; !ok {
			delete(s.cache[res], k)
		}
	}
	s.cacheMu.Unlock()
	return dropNil(objs)
}

// dropNil removes the nil (undecodable) objects, in place.
func dropNil(objs []api.Object) []api.Object {
	out := objs[:0]
	for _, o := range objs {
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}
