package api

import (
	"fmt"
	"net/http"
)

// Errors of the limits that keep one client from exhausting the cluster's
// storage (see store/etcd and registry).

// ReasonInsufficientStorage is the reason of a 507: the store is full.
const ReasonInsufficientStorage StatusReason = "InsufficientStorage"

// NewObjectTooLarge: 413, an object whose stored form is size bytes, over
// the limit of its kind.
func NewObjectTooLarge(kind, id string, size, limit int) *StatusError {
	return newStatus(http.StatusRequestEntityTooLarge, ReasonTooLarge, kind, id,
		fmt.Sprintf("%s %q is %d bytes when stored; a %s may be at most %d bytes", kind, id, size, kind, limit))
}

// NewInsufficientStorage: 507, the store refuses writes because it is full;
// msg says what happened and what is done about it.
func NewInsufficientStorage(msg string) *StatusError {
	return newStatus(http.StatusInsufficientStorage, ReasonInsufficientStorage, "", "", msg)
}

// NewTooManyObjects: 403, a namespace already holds limit objects of kind.
func NewTooManyObjects(kind, namespace string, limit int) *StatusError {
	where := fmt.Sprintf("namespace %q", namespace)
	if namespace == "" {
		where = "the cluster"
	}
	return newStatus(http.StatusForbidden, ReasonForbidden, kind, "",
		fmt.Sprintf("%s already holds %d %s objects, the most allowed: delete some before creating more (the limit is the master's objects-per-namespace setting)", where, limit, kind))
}

// IsInsufficientStorage reports a 507: the store is full.
func IsInsufficientStorage(err error) bool { return hasReason(err, ReasonInsufficientStorage) }
