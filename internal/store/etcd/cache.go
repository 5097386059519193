package etcd

import (
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"kubelite/internal/api"
)

// The list cache: decoding JSON is most of the cost of a large List, and
// most objects have not changed since the last one. The store keeps the
// decoded object of every key it listed together with its mod revision, and
// decodes again only keys whose revision moved. Cached objects are never
// handed out: List returns api.DeepCopy copies (several times cheaper than
// decoding). The cache holds what the last lists saw: a list of a whole
// resource replaces that resource's entries, a list of one namespace
// replaces that namespace's, and a Delete through the store drops its key.
// Events (short-lived, expired by lease) are not cached.

type cacheEntry struct {
	rev int64
	obj api.Object // decoded once, never mutated, never handed out
}

func (s *Store) uncache(res api.Resource, key string) {
	s.cacheMu.Lock()
	delete(s.cache[res], key)
	s.cacheMu.Unlock()
}

// decodeList returns the objects of kvs in order, from the cache where their
// revision is unchanged; the objects are shared with the cache (read only).
// whole says the list covered every key of res under prefix.
func (s *Store) decodeList(res api.Resource, prefix string, whole bool, kvs []*mvccpb.KeyValue) ([]api.Object, error) {
	objs := make([]api.Object, len(kvs))
	useCache := res != api.Events
	var missIdx []int
	if useCache {
		s.cacheMu.Lock()
		m := s.cache[res]
		for i, kv := range kvs {
			if e, ok := m[string(kv.Key)]; ok && e.rev == kv.ModRevision {
				objs[i] = e.obj
			} else {
				missIdx = append(missIdx, i)
			}
		}
		s.cacheMu.Unlock()
	} else {
		missIdx = make([]int, len(kvs))
		for i := range kvs {
			missIdx[i] = i
		}
	}
	// Decode the misses (in parallel when many); a value that does not
	// decode is reported and left out (undecodable.go).
	_ = parallelFor(len(missIdx), func(j int) error {
		kv := kvs[missIdx[j]]
		objs[missIdx[j]] = s.decodeOrSkip(res, kv, kv.ModRevision)
		return nil
	})
	if !useCache {
		return dropNil(objs), nil
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	m := s.cache[res]
	if whole || m == nil {
		fresh := make(map[string]cacheEntry, len(kvs))
		if !whole {
			for k, e := range m {
				if !strings.HasPrefix(k, prefix) {
					fresh[k] = e
				}
			}
		}
		for i, kv := range kvs {
			if objs[i] != nil {
				fresh[string(kv.Key)] = cacheEntry{rev: kv.ModRevision, obj: objs[i]}
			}
		}
		s.cache[res] = fresh
		return dropNil(objs), nil
	}
	seen := make(map[string]bool, len(kvs))
	for i, kv := range kvs {
		seen[string(kv.Key)] = true
		if objs[i] != nil {
			m[string(kv.Key)] = cacheEntry{rev: kv.ModRevision, obj: objs[i]}
		}
	}
	for k := range m {
		if strings.HasPrefix(k, prefix) && !seen[k] {
			delete(m, k)
		}
	}
	return dropNil(objs), nil
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
