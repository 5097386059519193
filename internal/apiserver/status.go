package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"kubelite/internal/api"
)

// writeJSON encodes v straight to w with the code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeStatus writes a Status with its own code (500 when it has none).
func writeStatus(w http.ResponseWriter, st api.Status) {
	if st.Code == 0 {
		st.Code = http.StatusInternalServerError
	}
	st.Kind = "Status"
	if st.APIVersion == "" {
		st.APIVersion = api.APIVersion
	}
	if st.Status == "" {
		st.Status = "Failure"
	}
	writeJSON(w, st.Code, st)
}

// writeError answers err as a Status: a StatusError keeps its code; a
// timeout is 504; anything else is a 500 (the store failed).
func writeError(w http.ResponseWriter, err error) {
	var se *api.StatusError
	switch {
	case errors.As(err, &se):
		writeStatus(w, se.Status)
	case errors.Is(err, context.DeadlineExceeded):
		writeStatus(w, newStatus(http.StatusGatewayTimeout, api.ReasonTimeout, err.Error()))
	default:
		writeStatus(w, api.StatusOf(err))
	}
}

func newStatus(code int, reason api.StatusReason, msg string) api.Status {
	return api.Status{
		TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: api.APIVersion},
		Status:   "Failure", Message: msg, Reason: reason, Code: code,
	}
}

func badRequest(msg string) error { return api.NewBadRequest(msg) }

func notFound(w http.ResponseWriter, r *http.Request) {
	writeStatus(w, newStatus(http.StatusNotFound, api.ReasonNotFound, fmt.Sprintf("path %q not found", r.URL.Path)))
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeStatus(w, api.NewMethodNotAllowed(r.Method, r.URL.Path).Status)
}

// successStatus is what DELETE answers.
func successStatus(ver string, res api.Resource, id string) api.Status {
	return api.Status{
		TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: ver},
		Status:   "Success", Code: http.StatusOK,
		Details: &api.StatusDetails{ID: id, Kind: res.Kind()},
	}
}

// jsonError turns a decode error into a 400 naming the line and column.
func jsonError(kind string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	at := api.JSONErrorAt(data, err)
	if at < 0 {
		return badRequest(fmt.Sprintf("malformed %s JSON: %s", kind, msg))
	}
	line, col := position(data, at)
	return badRequest(fmt.Sprintf("malformed %s JSON at line %d, column %d: %s", kind, line, col, msg))
}

// position maps the index of a byte to its 1-based line and column.
func position(data []byte, at int64) (line, col int) {
	p := int(min(at, int64(len(data))))
	line = 1 + bytes.Count(data[:p], []byte{'\n'})
	start := bytes.LastIndexByte(data[:p], '\n') + 1
	return line, p - start + 1
}

// preferReturn is the value of the "return" preference of a request's
// Prefer headers (RFC 7240: preferences separated by commas, each a token
// with an optional value and parameters after ";"; names are
// case-insensitive; of a preference given twice the first counts), lower
// case and unquoted; "" when there is none (pure).
func preferReturn(h http.Header) string {
	for _, field := range h.Values("Prefer") {
		for _, pref := range strings.Split(field, ",") {
			pref, _, _ = strings.Cut(pref, ";")
			name, value, _ := strings.Cut(pref, "=")
			if !strings.EqualFold(strings.TrimSpace(name), "return") {
				continue
			}
			value = strings.TrimSpace(value)
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			return strings.ToLower(value)
		}
	}
	return ""
}
