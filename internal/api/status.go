package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Status is the v1beta1 result object; failures carry a reason and a code.
type Status struct {
	TypeMeta `json:",inline"`
	Status   string         `json:"status,omitempty"` // Success or Failure
	Message  string         `json:"message,omitempty"`
	Reason   StatusReason   `json:"reason,omitempty"`
	Details  *StatusDetails `json:"details,omitempty"`
	Code     int            `json:"code,omitempty"`
}

// PreferMinimal is the Prefer header (RFC 7240) with which a client of a
// pod's status write (PUT .../pods/NAME/status) asks for a Status carrying
// the pod's new resourceVersion instead of the whole pod; the API server
// answers it with Preference-Applied: return=minimal.
const PreferMinimal = "return=minimal"

// StatusReason is a machine-readable reason.
type StatusReason string

// Reasons used by kubelite.
const (
	ReasonNotFound         StatusReason = "NotFound"
	ReasonAlreadyExists    StatusReason = "AlreadyExists"
	ReasonConflict         StatusReason = "Conflict"
	ReasonInvalid          StatusReason = "Invalid"
	ReasonBadRequest       StatusReason = "BadRequest"
	ReasonMethodNotAllowed StatusReason = "MethodNotAllowed"
	ReasonGone             StatusReason = "Gone"
	ReasonTooLarge         StatusReason = "RequestEntityTooLarge"
	ReasonInternal         StatusReason = "InternalError"
	ReasonUnavailable      StatusReason = "ServiceUnavailable"
	ReasonTimeout          StatusReason = "Timeout"
	ReasonUnauthorized     StatusReason = "Unauthorized"
	ReasonForbidden        StatusReason = "Forbidden"
	ReasonNotImplemented   StatusReason = "NotImplemented"
)

// StatusDetails names the object and the causes of a failure.
type StatusDetails struct {
	ID     string        `json:"id,omitempty"`
	Kind   string        `json:"kind,omitempty"`
	Causes []StatusCause `json:"causes,omitempty"`
}

// StatusCause is one reason a request failed, naming a field where there is one.
type StatusCause struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	Field   string `json:"field,omitempty"`
}

// Cause reasons for Invalid.
const (
	CauseRequired     = "FieldValueRequired"
	CauseInvalid      = "FieldValueInvalid"
	CauseDuplicate    = "FieldValueDuplicate"
	CauseNotSupported = "FieldValueNotSupported"
	CauseForbidden    = "FieldValueForbidden"
)

// StatusError is an error carrying a Status; every store and API failure is one.
type StatusError struct {
	Status Status
}

func (e *StatusError) Error() string { return e.Status.Message }

func newStatus(code int, reason StatusReason, kind, id, msg string) *StatusError {
	s := Status{
		TypeMeta: TypeMeta{Kind: "Status", APIVersion: APIVersion},
		Status:   "Failure", Message: msg, Reason: reason, Code: code,
	}
	if kind != "" || id != "" {
		s.Details = &StatusDetails{ID: id, Kind: kind}
	}
	return &StatusError{Status: s}
}

// NewNotFound: 404.
func NewNotFound(kind, id string) *StatusError {
	return newStatus(http.StatusNotFound, ReasonNotFound, kind, id, fmt.Sprintf("%s %q not found", kind, id))
}

// NewAlreadyExists: 409.
func NewAlreadyExists(kind, id string) *StatusError {
	return newStatus(http.StatusConflict, ReasonAlreadyExists, kind, id, fmt.Sprintf("%s %q already exists", kind, id))
}

// NewConflict: 409, for a stale resourceVersion or a lost compare-and-swap.
func NewConflict(kind, id, why string) *StatusError {
	return newStatus(http.StatusConflict, ReasonConflict, kind, id, fmt.Sprintf("%s %q cannot be updated: %s", kind, id, why))
}

// NewInvalid: 422, naming every bad field.
func NewInvalid(kind, id string, causes []StatusCause) *StatusError {
	msg := fmt.Sprintf("%s %q is invalid", kind, id)
	for i, c := range causes {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		msg += sep + c.Field + ": " + c.Message
	}
	e := newStatus(http.StatusUnprocessableEntity, ReasonInvalid, kind, id, msg)
	e.Status.Details = &StatusDetails{ID: id, Kind: kind, Causes: causes}
	return e
}

// NewBadRequest: 400.
func NewBadRequest(msg string) *StatusError {
	return newStatus(http.StatusBadRequest, ReasonBadRequest, "", "", msg)
}

// NewMethodNotAllowed: 405.
func NewMethodNotAllowed(method, path string) *StatusError {
	return newStatus(http.StatusMethodNotAllowed, ReasonMethodNotAllowed, "", "", fmt.Sprintf("method %s not allowed on %s", method, path))
}

// NewGone: 410, a watch from a resourceVersion older than the history kept.
func NewGone(msg string) *StatusError {
	return newStatus(http.StatusGone, ReasonGone, "", "", msg)
}

// NewTooLarge: 413.
func NewTooLarge(limit int64) *StatusError {
	return newStatus(http.StatusRequestEntityTooLarge, ReasonTooLarge, "", "", fmt.Sprintf("request body larger than %d bytes", limit))
}

// NewInternal: 500, for failures of kubelite itself or its storage.
func NewInternal(err error) *StatusError {
	return newStatus(http.StatusInternalServerError, ReasonInternal, "", "", "internal error: "+err.Error())
}

// NewUnavailable: 503.
func NewUnavailable(msg string) *StatusError {
	return newStatus(http.StatusServiceUnavailable, ReasonUnavailable, "", "", msg)
}

// StatusOf returns the Status of err: its own if it is a StatusError, else an
// internal error; a nil err is Success.
func StatusOf(err error) Status {
	if err == nil {
		return Status{TypeMeta: TypeMeta{Kind: "Status", APIVersion: APIVersion}, Status: "Success", Code: http.StatusOK}
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return NewInternal(err).Status
}

func hasReason(err error, r StatusReason) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status.Reason == r
}

// IsNotFound reports a 404.
func IsNotFound(err error) bool { return hasReason(err, ReasonNotFound) }

// IsAlreadyExists reports a create of an existing object.
func IsAlreadyExists(err error) bool { return hasReason(err, ReasonAlreadyExists) }

// IsConflict reports a stale resourceVersion or lost compare-and-swap.
func IsConflict(err error) bool { return hasReason(err, ReasonConflict) }

// IsInvalid reports a validation failure.
func IsInvalid(err error) bool { return hasReason(err, ReasonInvalid) }

// IsGone reports a watch too old for the store's history: re-list.
func IsGone(err error) bool { return hasReason(err, ReasonGone) }
