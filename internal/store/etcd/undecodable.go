package etcd

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// Values that do not decode. One bad value (a hand-edited key, a bug, bad
// bytes on disk) must not fail every list and watch of its resource: to
// lists and watches such a key does not exist (a watcher that knew the
// object sees it deleted; a repaired value is added again). Each bad value
// is reported once per revision: a warning naming the key, and an event
// (reason Undecodable) on the object. Get of the key stays an error naming
// it, and Delete of it succeeds, so the way out is an ordinary DELETE.

// ReasonUndecodable is the reason of the event about a value that does not decode.
const ReasonUndecodable = "Undecodable"

// maxReported bounds the memory of reported bad values.
const maxReported = 4096

// decodeOrSkip decodes kv; a value that does not decode is reported and
// returned as nil.
func (s *Store) decodeOrSkip(res api.Resource, kv *mvccpb.KeyValue, rev int64) api.Object {
	obj, err := decode(res, kv, rev)
	if err != nil {
		s.reportUndecodable(res, kv, err)
		return nil
	}
	return obj
}

// reportUndecodable logs (and records an event about) a bad value, once per
// key and revision.
func (s *Store) reportUndecodable(res api.Resource, kv *mvccpb.KeyValue, err error) {
	key := string(kv.Key)
	s.badMu.Lock()
	if s.bad[key] == kv.ModRevision {
		s.badMu.Unlock()
		return
	}
	if len(s.bad) >= maxReported {
		s.bad = map[string]int64{}
	}
	s.bad[key] = kv.ModRevision
	s.badMu.Unlock()
	ns, id := splitKey(res, key)
	s.log.WithFields(map[string]any{"key": key, "revision": kv.ModRevision, "error": err.Error()}).
		Warnf("stored %s %q does not decode: left out of lists and watches; delete it (DELETE of the object answers 200) or restore it from a backup", res.Kind(), id)
	if res == api.Events {
		return
	}
	ev := &api.Event{
		TypeMeta:       api.TypeMeta{ID: undecodableEventID(key, kv.ModRevision), Namespace: store.Namespace(api.Events, ns)},
		InvolvedObject: api.ObjectReference{Kind: res.Kind(), Namespace: ns, Name: id},
		Status:         "Warning",
		Reason:         ReasonUndecodable,
		Message:        fmt.Sprintf("the stored value of %s (revision %d) does not decode (%v); it is left out of lists and watches: delete it, or restore it from a backup", key, kv.ModRevision, err),
		Source:         "store",
		Timestamp:      s.now().UTC(),
	}
	if len(ev.Message) > 1024 {
		ev.Message = ev.Message[:1024]
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := s.Create(ctx, ev); err != nil && !api.IsAlreadyExists(err) {
			s.log.WithError(err).WithField("key", key).Debug("event about an undecodable value")
		}
	}()
}

// splitKey returns the namespace and id of key, a key of res.
func splitKey(res api.Resource, key string) (ns, id string) {
	rest := strings.TrimPrefix(key, store.ResourcePrefix(res, ""))
	if !res.Namespaced() {
		return "", rest
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], rest[i+1:]
	}
	return "", rest
}

// undecodableEventID is a valid event id unique per key and revision.
func undecodableEventID(key string, rev int64) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return fmt.Sprintf("undecodable.%x.%d", h.Sum64(), rev)
}
