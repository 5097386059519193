package apiserver

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// serveWatch streams store events as {"type":..,"object":..} lines until the
// client leaves, the server stops, or the store's stream ends. Events that
// are ready together are written and flushed together, and a stream is
// flushed at most every watchFlushEvery (an event after a quiet spell at
// once). Errors known before streaming (bad selector, Gone) are ordinary
// Status responses.
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
	// The frames of a batch are gathered in buf and written at once: one
	// write and one flush per batch, not per event (see watchFlushEvery).
	var buf []byte
	var lastFlush time.Time
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	flush := func() bool {
		if len(buf) > 0 {
			if _, err := w.Write(buf); err != nil {
				return false // the client went away
			}
			buf = buf[:0]
		}
		if flusher != nil {
			flusher.Flush()
		}
		lastFlush = time.Now()
		return true
	}
	for {
		var ev store.Event
		var ok bool
		select {
		case ev, ok = <-ch:
		default:
			// Nothing more is ready: send what was gathered, now or, when
			// the last flush was recent, at most watchFlushEvery after it.
			var due <-chan time.Time
			if len(buf) > 0 {
				if wait := watchFlushEvery - time.Since(lastFlush); wait <= 0 {
					if !flush() {
						return
					}
				} else {
					timer.Reset(wait)
					due = timer.C
				}
			}
			select {
			case ev, ok = <-ch:
			case <-due:
				if !flush() {
					return
				}
				continue
			case <-ctx.Done():
				return
			}
		}
		if !ok {
			flush()
			return
		}
		if buf, err = s.appendFrame(buf, ver, ev, shared); err != nil {
			return
		}
		if len(buf) >= watchBatchBytes && !flush() {
			return
		}
	}
}

// watchFlushEvery bounds how often one watch stream is flushed: an event
// after a quiet spell goes out at once, and events that follow within
// watchFlushEvery of a flush wait for the next one, together. Each flush
// is a write system call (TLS record, TCP segment) per watcher: with 1,000
// watchers of a busy resource, flushing every event costs more than
// everything else the fan-out does, and the bound keeps that cost
// proportional to watchers, not to watchers times events.
const watchFlushEvery = 20 * time.Millisecond

// watchBatchBytes flushes a batch that has grown this large without
// waiting.
const watchBatchBytes = 256 << 10

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
