package apiserver

import (
	"encoding/json"
	"net/http"
	"sync"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// serveWatch streams store events as {"type":..,"object":..} lines until the
// client leaves, the server stops, or the store's stream ends. Events that
// are ready together are flushed together. Errors known before streaming
// (bad selector, Gone) are ordinary Status responses.
//
// When the store has a shared watch (store.SharedWatcher), every watcher of
// a resource receives the same read-only objects, and each object is encoded
// once per API version for all of them (encCache).
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, ver string, res api.Resource, id string) {
	opts, err := listOptions(r, res, true)
	if err != nil {
		writeError(w, err)
		return
	}
	if id != "" {
		f := r.URL.Query().Get("fields")
		if f != "" {
			f += ","
		}
		sel, err := api.ParseSelector(f + api.FieldName + "=" + id)
		if err != nil {
			writeError(w, badRequest("invalid id "+id+": "+err.Error()))
			return
		}
		opts.Fields = sel
	}
	ctx := r.Context()
	var ch <-chan store.Event
	sw, shared := s.cfg.Store.(store.SharedWatcher)
	if shared {
		ch, err = sw.WatchShared(ctx, res, opts)
	} else {
		ch, err = s.cfg.Store.Watch(ctx, res, opts)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	var buf []byte
	for {
		var ev store.Event
		var ok bool
		select {
		case ev, ok = <-ch:
		default:
			// Nothing more is ready: send what was written.
			if flusher != nil {
				flusher.Flush()
			}
			select {
			case ev, ok = <-ch:
			case <-ctx.Done():
				return
			}
		}
		if !ok {
			return
		}
		buf, err = s.appendFrame(buf[:0], ver, ev, shared)
		if err != nil {
			return
		}
		if _, err := w.Write(buf); err != nil {
			return // the client went away
		}
	}
}

// appendFrame appends the watch line of ev to buf.
func (s *Server) appendFrame(buf []byte, ver string, ev store.Event, shared bool) ([]byte, error) {
	var obj []byte
	var err error
	switch {
	case ev.Type == store.Error:
		var o any = ev.Object
		if st, ok := ev.Object.(*api.Status); ok {
			c := *st
			c.Kind = "Status"
			o = c
		}
		obj, err = json.Marshal(o)
	case ev.Object == nil:
		obj = []byte("null")
	case shared:
		obj, err = s.enc.encode(ver, ev.Object)
	default:
		obj, err = json.Marshal(versionedShared(ver, ev.Object))
	}
	if err != nil {
		return buf, err
	}
	typ, err := json.Marshal(ev.Type)
	if err != nil {
		return buf, err
	}
	buf = append(buf, `{"type":`...)
	buf = append(buf, typ...)
	buf = append(buf, `,"object":`...)
	buf = append(buf, obj...)
	buf = append(buf, "}\n"...)
	return buf, nil
}

// encCache holds the JSON of shared, read-only objects by identity and API
// version, so an event's object is encoded once for all watchers. It keeps
// two generations of at most encGen entries: an entry not used during a
// whole generation is dropped.
type encCache struct {
	mu       sync.Mutex
	cur, old map[encKey]*encEntry
}

type encKey struct {
	obj api.Object
	ver string
}

// encEntry is encoded by the first watcher that needs it; the others wait.
type encEntry struct {
	once sync.Once
	data []byte
	err  error
}

const encGen = 4096

func (c *encCache) encode(ver string, obj api.Object) ([]byte, error) {
	k := encKey{obj, ver}
	c.mu.Lock()
	e, ok := c.cur[k]
	if !ok {
		if e, ok = c.old[k]; !ok {
			e = &encEntry{}
		}
		if c.cur == nil || len(c.cur) >= encGen {
			c.old, c.cur = c.cur, make(map[encKey]*encEntry, 64)
		}
		c.cur[k] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.data, e.err = json.Marshal(versionedShared(ver, obj)) })
	return e.data, e.err
}
