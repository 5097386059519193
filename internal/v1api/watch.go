package v1api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// Watches: ?watch=true on a list path (or /api/v1/watch/...) streams
// {"type":..,"object":..} lines of v1 objects (or one-row Tables).
//
//   - resourceVersion=N: every change after N; a compacted N is 410
//     Expired, answered before the stream starts.
//   - resourceVersion "" or "0", or sendInitialEvents=true: the current
//     objects first as ADDED, then the changes after the list they came
//     from; with sendInitialEvents a BOOKMARK annotated
//     k8s.io/initial-events-end marks the end of them (client-go's
//     watch-list).
//   - timeoutSeconds ends the stream (client-go's reflectors set it).
//   - a label or field selector the store cannot make (set-based labels,
//     fields it does not index) is checked here; the objects matching when
//     the watch starts are listed so that one leaving the selection is
//     still a DELETED.

// watchStream writes frames and flushes a batch when nothing more is ready.
type watchStream struct {
	w       http.ResponseWriter
	flusher http.Flusher
	req     Request
	table   bool
	inc     includeObject
	tctx    *tableContext
	columns bool // the column definitions went out (first table only)
}

func (h *Handler) newStream(w http.ResponseWriter, r *http.Request, req Request) *watchStream {
	s := &watchStream{w: w, req: req, table: wantAs(r) == asTable, inc: includeOf(r), tctx: h.tableContext(r.Context())}
	s.flusher, _ = w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	s.flush()
	return s
}

func (s *watchStream) flush() {
	if s.flusher != nil {
		s.flusher.Flush()
	}
}

type frame struct {
	Type   string `json:"type"`
	Object any    `json:"object"`
}

// send writes one frame (not flushed).
func (s *watchStream) send(typ string, obj runtime.Object) error {
	var o any = obj
	if s.table && typ != "ERROR" && typ != "BOOKMARK" {
		o = buildTable(s.req.kind, []runtime.Object{obj}, objectMeta(obj).ResourceVersion, s.inc, s.tctx, !s.columns)
		s.columns = true
	}
	b, err := json.Marshal(frame{Type: typ, Object: o})
	if err != nil {
		return fmt.Errorf("encode %s event: %w", typ, err)
	}
	_, err = s.w.Write(append(b, '\n'))
	return err
}

// watchOptions reads resourceVersion, sendInitialEvents and timeoutSeconds.
func watchOptions(r *http.Request) (rv uint64, initial bool, timeout time.Duration, err error) {
	q := r.URL.Query()
	if v := q.Get("resourceVersion"); v != "" {
		rv, err = strconv.ParseUint(v, 10, 64)
		if err != nil || rv >= math.MaxInt64 {
			return 0, false, 0, badRequest(fmt.Sprintf("invalid resourceVersion %q: want a non-negative integer below 2^63-1", v))
		}
	}
	initial = rv == 0
	if v := q.Get("sendInitialEvents"); v != "" {
		if initial, err = strconv.ParseBool(v); err != nil {
			return 0, false, 0, badRequest(fmt.Sprintf("invalid sendInitialEvents %q", v))
		}
	}
	if v := q.Get("timeoutSeconds"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, false, 0, badRequest(fmt.Sprintf("invalid timeoutSeconds %q", v))
		}
		timeout = time.Duration(min(n, 1<<31)) * time.Second
	}
	return rv, initial, timeout, nil
}

func (h *Handler) serveWatch(w http.ResponseWriter, r *http.Request, req Request) {
	sel, err := parseSelectors(req.kind, r.URL.Query())
	if err != nil {
		writeError(w, req, err)
		return
	}
	if req.Name != "" {
		f := sel.storeFields.String()
		if f != "" {
			f += ","
		}
		if sel.storeFields, err = api.ParseSelector(f + api.FieldName + "=" + req.Name); err != nil {
			writeError(w, req, badRequest("invalid name "+req.Name+": "+err.Error()))
			return
		}
	}
	rv, initial, timeout, err := watchOptions(r)
	if err != nil {
		writeError(w, req, err)
		return
	}
	ctx := r.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	opts := sel.storeOptions(req.Namespace)
	matched := map[string]bool{}
	var first []runtime.Object
	if initial || !sel.exact {
		objs, listRV, err := h.cfg.Store.List(ctx, req.InternalResource, opts)
		if err != nil {
			writeError(w, req, err)
			return
		}
		for _, o := range objs {
			v := req.kind.toV1(o)
			if sel.matches(req.kind, v) && (req.Name == "" || req.Name == o.Meta().ID) {
				matched[api.Key(o)] = true
				first = append(first, v)
			}
		}
		if initial {
			rv = listRV
		}
	}
	opts.ResourceVersion = rv
	ch, err := h.cfg.Store.Watch(ctx, req.InternalResource, opts)
	if err != nil {
		writeError(w, req, err)
		return
	}
	s := h.newStream(w, r, req)
	if initial {
		for _, o := range first {
			if s.send("ADDED", o) != nil {
				return
			}
		}
		if b, _ := strconv.ParseBool(r.URL.Query().Get("sendInitialEvents")); b {
			bm := req.kind.newV1()
			bm.GetObjectKind().SetGroupVersionKind(gvk(req.kind))
			m := objectMeta(bm)
			m.ResourceVersion = strconv.FormatUint(rv, 10)
			m.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
			if s.send("BOOKMARK", bm) != nil {
				return
			}
		}
	}
	for {
		var ev store.Event
		var ok bool
		select {
		case ev, ok = <-ch:
		default:
			s.flush()
			select {
			case ev, ok = <-ch:
			case <-ctx.Done():
				return
			}
		}
		if !ok {
			return
		}
		typ, obj := h.filterEvent(req, sel, matched, ev)
		if typ == "" {
			continue
		}
		if s.send(typ, obj) != nil {
			return
		}
	}
}

// filterEvent converts a store event to the v1 event this watcher sees,
// "" for none.
func (h *Handler) filterEvent(req Request, sel selectors, matched map[string]bool, ev store.Event) (string, runtime.Object) {
	if ev.Type == store.Error {
		st, ok := ev.Object.(*api.Status)
		if !ok {
			return "ERROR", toStatus(req, fmt.Errorf("watch failed"))
		}
		return "ERROR", toStatus(req, &api.StatusError{Status: *st})
	}
	if ev.Object == nil {
		return "", nil
	}
	v := req.kind.toV1(ev.Object)
	if sel.exact {
		return string(ev.Type), v
	}
	key := api.Key(ev.Object)
	was, now := matched[key], sel.matches(req.kind, v)
	switch {
	case ev.Type == store.Deleted && was:
		delete(matched, key)
		return "DELETED", v
	case ev.Type == store.Deleted:
		return "", nil
	case now && was:
		return "MODIFIED", v
	case now:
		matched[key] = true
		return "ADDED", v
	case was:
		delete(matched, key)
		return "DELETED", v
	}
	return "", nil
}

// streamStatic sends objs as ADDED (when the client asked for the current
// state) and holds the stream open until the client leaves or the timeout.
func (h *Handler) streamStatic(w http.ResponseWriter, r *http.Request, req Request, objs []runtime.Object, rv string) {
	_, initial, timeout, err := watchOptions(r)
	if err != nil {
		writeError(w, req, err)
		return
	}
	ctx := r.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	s := h.newStream(w, r, req)
	if initial {
		for _, o := range objs {
			if s.send("ADDED", o) != nil {
				return
			}
		}
	}
	s.flush()
	<-ctx.Done()
}
