package v1api

import (
	"net/http"
	"strconv"
	"strings"

	"kubelite/internal/api"
)

// Request is what a /api/v1 path and method ask for: the grammar of
// Kubernetes' core group,
//
//	/api/v1/<res>[/<name>[/<sub>]]                      cluster-scoped kinds; lists of every namespace
//	/api/v1/namespaces/<ns>/<res>[/<name>[/<sub>]]      namespaced kinds
//	/api/v1/namespaces[/<ns>]                           the synthetic namespaces
//	/api/v1/watch/...                                   the same, as a watch
type Request struct {
	// Verb is get, list, watch, create, update, patch, delete,
	// deletecollection, or proxy (pods/log: it reaches a kubelet).
	Verb string
	// Resource is the v1 plural ("pods", "nodes"); Namespace is "" for
	// cluster-scoped kinds and for lists of every namespace.
	Resource, Namespace, Name, Subresource string
	// InternalResource is the v1beta1 resource (minions for nodes); "" for
	// namespaces.
	InternalResource api.Resource

	kind *kind
}

// ParseRequest parses a request under /api/v1; ok is false for paths that
// are not a resource of the group (discovery, unknown words).
func ParseRequest(method, path string, query map[string][]string) (Request, bool) {
	rest, ok := strings.CutPrefix(path, "/api/v1/")
	if !ok {
		return Request{}, false
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	for _, s := range segs {
		if s == "" {
			return Request{}, false
		}
	}
	watch := false
	if segs[0] == "watch" {
		watch, segs = true, segs[1:]
	}
	var req Request
	if len(segs) >= 3 && segs[0] == "namespaces" {
		req.Namespace, segs = segs[1], segs[2:]
	}
	if len(segs) == 0 || len(segs) > 3 {
		return Request{}, false
	}
	k, ok := kindByName[segs[0]]
	if !ok {
		return Request{}, false
	}
	req.kind, req.Resource, req.InternalResource = k, k.name, k.res
	if len(segs) > 1 {
		req.Name = segs[1]
	}
	if len(segs) > 2 {
		req.Subresource = segs[2]
		if _, ok := k.subresources[req.Subresource]; !ok {
			return Request{}, false
		}
	}
	switch {
	case k.namespaced && req.Namespace == "" && req.Name != "":
		return Request{}, false // a namespaced object needs its namespace
	case !k.namespaced && req.Namespace != "":
		return Request{}, false
	case k.name == "namespaces" && req.Namespace != "":
		return Request{}, false
	}
	q := func(k string) string {
		if v := query[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	isWatch, _ := strconv.ParseBool(q("watch"))
	watch = watch || isWatch
	switch method {
	case http.MethodGet, http.MethodHead:
		switch {
		case req.Subresource == "log":
			req.Verb = "proxy"
		case watch:
			req.Verb = "watch"
		case req.Name == "":
			req.Verb = "list"
		default:
			req.Verb = "get"
		}
	case http.MethodPost:
		req.Verb = "create"
	case http.MethodPut:
		req.Verb = "update"
	case http.MethodPatch:
		req.Verb = "patch"
	case http.MethodDelete:
		req.Verb = "delete"
		if req.Name == "" {
			req.Verb = "deletecollection"
		}
	default:
		req.Verb = strings.ToLower(method)
	}
	return req, true
}
