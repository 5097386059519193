package v1api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"kubelite/internal/api"
)

// writeJSON encodes v to w with the code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// toStatus maps an error to a v1 Status (metav1.Status: details name the
// object by name, not v1beta1's id). A compacted resourceVersion is 410
// Expired, which client-go's reflectors answer by listing again.
func toStatus(req Request, err error) *metav1.Status {
	var st api.Status
	var se *api.StatusError
	switch {
	case errors.As(err, &se):
		st = se.Status
	case errors.Is(err, context.DeadlineExceeded):
		st = api.Status{Code: http.StatusGatewayTimeout, Reason: api.ReasonTimeout, Message: err.Error()}
	default:
		st = api.StatusOf(err)
	}
	if st.Code == 0 {
		st.Code = http.StatusInternalServerError
	}
	out := &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure, Message: st.Message, Reason: metav1.StatusReason(st.Reason), Code: int32(st.Code),
	}
	if st.Reason == api.ReasonGone {
		out.Reason = metav1.StatusReasonExpired
	}
	if st.Reason == api.ReasonInternal {
		out.Reason = metav1.StatusReasonInternalError
	}
	if d := st.Details; d != nil || req.Name != "" {
		out.Details = &metav1.StatusDetails{Name: req.Name}
		if req.kind != nil {
			out.Details.Kind = req.Resource
		}
		if d != nil {
			if d.ID != "" {
				out.Details.Name = d.ID
			}
			for _, c := range d.Causes {
				field := c.Field
				if req.kind != nil && field != "" {
					field = req.kind.v1Field(field)
					out.Message = strings.ReplaceAll(out.Message, c.Field+":", field+":")
				}
				out.Details.Causes = append(out.Details.Causes, metav1.StatusCause{
					Type: metav1.CauseType(c.Reason), Message: c.Message, Field: field,
				})
			}
		}
	}
	if st.Reason == api.ReasonInvalid && req.kind != nil && !strings.Contains(out.Message, req.kind.kind) {
		out.Message = fmt.Sprintf("%s %q is invalid: %s", req.kind.kind, req.Name, out.Message)
	}
	return out
}

func writeError(w http.ResponseWriter, req Request, err error) {
	st := toStatus(req, err)
	writeJSON(w, int(st.Code), st)
}

func badRequest(msg string) error { return api.NewBadRequest(msg) }

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, Request{}, &api.StatusError{Status: api.Status{
		Code: http.StatusNotFound, Reason: api.ReasonNotFound,
		Message: fmt.Sprintf("the server could not find the requested resource (path %q)", r.URL.Path),
	}})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, Request{}, api.NewMethodNotAllowed(r.Method, r.URL.Path))
}

func onlyGET(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	methodNotAllowed(w, r)
	return false
}

// as is the form of the answer a client asked for in Accept.
type as int

const (
	asObject as = iota
	asTable
	asMetadata
)

// wantAs reads Accept: the first media type this server can answer wins
// (kubectl asks for Table first, then plain JSON).
func wantAs(r *http.Request) as {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if mt != "application/json" && mt != "*/*" && mt != "application/*" {
			continue
		}
		switch {
		case params["as"] == "":
			return asObject
		case params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1"):
			continue
		case params["as"] == "Table":
			return asTable
		case params["as"] == "PartialObjectMetadata" || params["as"] == "PartialObjectMetadataList":
			return asMetadata
		}
	}
	return asObject
}

func includeOf(r *http.Request) includeObject {
	switch v := includeObject(r.URL.Query().Get("includeObject")); v {
	case includeNone, includeFull:
		return v
	}
	return includeMetadata
}
