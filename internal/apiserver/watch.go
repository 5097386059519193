package apiserver

import (
	"encoding/json"
	"net/http"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// watchFrame is one line of a watch stream.
type watchFrame struct {
	Type   store.EventType `json:"type"`
	Object any             `json:"object"`
}

// serveWatch streams store events as {"type":..,"object":..} lines, one
// flush per event, until the client leaves, the server stops, or the
// store's stream ends. Errors known before streaming (bad selector, Gone)
// are ordinary Status responses.
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
	ch, err := s.cfg.Store.Watch(ctx, res, opts)
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
	enc := json.NewEncoder(w)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return
			}
			frame := watchFrame{Type: ev.Type, Object: ev.Object}
			if ev.Type == store.Error {
				if st, ok := ev.Object.(*api.Status); ok {
					c := *st
					c.Kind = "Status"
					frame.Object = c
				}
			} else if ev.Object != nil {
				frame.Object = versionedShared(ver, ev.Object)
			}
			if err := enc.Encode(frame); err != nil {
				return // the client went away
			}
			if flusher != nil {
				flusher.Flush()
			}
		case <-ctx.Done():
			return
		}
	}
}
