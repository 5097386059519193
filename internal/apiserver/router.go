package apiserver

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"kubelite/internal/api"
	"kubelite/internal/dashboard"
	"kubelite/internal/metrics"
)

// newRouter declares the API's paths as http.ServeMux patterns (method and
// path, wildcards for names). GET patterns also answer HEAD. What no
// pattern matches is answered by notMatched: 405 when the path is served
// with another method, else 404, both as a Status.
//
// Resource words are literal segments (one pattern per word of
// urlResources and per version), so an unknown resource or version is a
// 404 whatever the method, and a known one with a method it does not take
// is a 405. Proxy, the dashboard and /api/v1 (internal/v1api) are
// subtrees whose handlers read the rest of the path themselves, verbatim.
func (s *Server) newRouter() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, ownPath bool, h http.HandlerFunc) {
		mux.Handle(pattern, routed(pattern, ownPath, h))
	}
	// Each route also answers with one trailing slash, as it always has.
	both := func(method, path string, h http.HandlerFunc) {
		if method != "" {
			method += " "
		}
		handle(method+path, false, h)
		handle(method+path+"/{$}", false, h)
	}
	version := func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.cfg.Version) }

	both("GET", "/livez", func(w http.ResponseWriter, r *http.Request) { s.serveProbe(w, r, "livez", nil) })
	ready := func(w http.ResponseWriter, r *http.Request) { s.serveProbe(w, r, "readyz", s.cfg.HealthChecks) }
	both("GET", "/healthz", ready)
	both("GET", "/readyz", ready)
	both("GET", "/version", version)
	both("GET", "/validate", s.serveValidate)
	handle("GET /metrics", false, metrics.Handler().ServeHTTP)
	ui := dashboard.Handler("/ui")
	for _, p := range []string{"/ui", "/ui/"} {
		handle(p, true, ui.ServeHTTP)
	}
	for _, p := range []string{"/api", "/api/{$}", "/api/v1", "/api/v1/", "/apis", "/apis/", "/openapi", "/openapi/"} {
		handle(p, true, s.v1.ServeHTTP)
	}

	for _, ver := range Versions {
		base := "/api/" + ver
		both("GET", base+"/version", version)
		proxy := func(w http.ResponseWriter, r *http.Request) {
			s.serveProxy(w, r, ver, strings.TrimPrefix(r.URL.Path, base+"/proxy/"))
		}
		handle(base+"/proxy/{kind}/{id}", true, proxy)
		handle(base+"/proxy/{kind}/{id}/", true, proxy)
		both("GET", base+"/redirect/{kind}/{id}", func(w http.ResponseWriter, r *http.Request) {
			s.serveRedirect(w, r, r.PathValue("kind"), r.PathValue("id"))
		})
		for word, res := range urlResources {
			coll, item := base+"/"+word, base+"/"+word+"/{id}"
			create := func(w http.ResponseWriter, r *http.Request) { s.serveCreate(w, r, ver, res) }
			if res == api.Bindings {
				// Bindings are only created.
				both("POST", coll, create)
				both("", item, methodNotAllowed)
				continue
			}
			both("GET", coll, func(w http.ResponseWriter, r *http.Request) { s.serveList(w, r, ver, res) })
			both("POST", coll, create)
			both("GET", item, func(w http.ResponseWriter, r *http.Request) { s.serveGet(w, r, ver, res, r.PathValue("id")) })
			both("PUT", item, func(w http.ResponseWriter, r *http.Request) { s.serveUpdate(w, r, ver, res, r.PathValue("id")) })
			both("DELETE", item, func(w http.ResponseWriter, r *http.Request) { s.serveDelete(w, r, ver, res, r.PathValue("id")) })
			if res == api.Minions {
				both("PUT", item+"/heartbeat", func(w http.ResponseWriter, r *http.Request) { s.serveHeartbeat(w, r, ver, r.PathValue("id")) })
			}
			if res == api.Pods {
				both("PUT", item+"/status", func(w http.ResponseWriter, r *http.Request) { s.servePodStatus(w, r, ver, r.PathValue("id")) })
			}
			watch := func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet { // a watch has no HEAD
					methodNotAllowed(w, r)
					return
				}
				s.serveWatch(w, r, ver, res, r.PathValue("id"))
			}
			both("GET", base+"/watch/"+word, watch)
			both("GET", base+"/watch/"+word+"/{id}", watch)
		}
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notMatched(mux, w, r) })
	return mux
}

// routeMethods are the methods patterns name (HEAD goes with GET).
var routeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}

// notMatched answers a request no pattern matches: 405 if the path is
// served with another method, else 404.
func notMatched(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	orig, _ := r.Context().Value(matchKey{}).(*matched)
	if orig != nil && orig.emptySegment {
		// Only routes that read the path themselves take an empty
		// segment, and they take every method.
		notFound(w, orig.req)
		return
	}
	probe := *r
	for _, m := range routeMethods {
		if m == r.Method {
			continue
		}
		probe.Method = m
		if _, pattern := mux.Handler(&probe); pattern != "" && pattern != "/" {
			if orig != nil {
				r = orig.req
			}
			methodNotAllowed(w, r)
			return
		}
	}
	if orig != nil {
		r = orig.req
	}
	notFound(w, r)
}

// route serves r through the router. A path the mux would clean or
// redirect (an empty, "." or ".." segment, or an escaped "/") is matched
// in a form the mux leaves alone, and the handler is given the request as
// it came (see matchRequest).
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/") {
		notFound(w, r)
		return
	}
	if r.URL.RawPath == "" && canonical(r.URL.Path) {
		s.mux.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, matchRequest(r))
}

// canonical reports whether the mux would leave path p as it is: no empty
// segment but a trailing one, no "." or ".." segment.
func canonical(p string) bool {
	return !strings.Contains(p, "//") && !strings.Contains(p, "/./") && !strings.Contains(p, "/../") &&
		!strings.HasSuffix(p, "/.") && !strings.HasSuffix(p, "/..")
}

// matchKey is the context key of a matched request's original.
type matchKey struct{}

// matched is a request that was matched in another form.
type matched struct {
	req *http.Request
	// emptySegment: the path has an empty segment, which no route takes
	// but those that read the path themselves.
	emptySegment bool
}

// matchRequest returns a copy of r to match: its path is r.URL.Path
// (decoded, as the routes have always read it) with every empty inner
// segment a NUL and every "." and ".." segment escaped, so the mux neither
// cleans it nor redirects, and wildcards get the segments as they are.
func matchRequest(r *http.Request) *http.Request {
	m := &matched{req: r}
	segs := strings.Split(r.URL.Path, "/")
	raw := make([]string, len(segs))
	for i, seg := range segs {
		switch {
		case i == 0 || (seg == "" && i == len(segs)-1):
			// the leading slash; one trailing slash
		case seg == "":
			m.emptySegment = true
			segs[i], raw[i] = "\x00", "%00"
		case seg == ".":
			raw[i] = "%2E"
		case seg == "..":
			raw[i] = "%2E%2E"
		default:
			raw[i] = url.PathEscape(seg)
		}
	}
	mr := r.WithContext(context.WithValue(r.Context(), matchKey{}, m))
	u := *r.URL
	u.Path, u.RawPath = strings.Join(segs, "/"), strings.Join(raw, "/")
	mr.URL = &u
	return mr
}

// routed adapts a route's handler to the mux: a request matched in another
// form (matchRequest) is handed on as it came, with the pattern's wildcards
// set; one with an empty segment is not found unless the handler reads the
// path itself (ownPath).
func routed(pattern string, ownPath bool, h http.HandlerFunc) http.HandlerFunc {
	names := wildcards(pattern)
	return func(w http.ResponseWriter, r *http.Request) {
		m, ok := r.Context().Value(matchKey{}).(*matched)
		if !ok {
			h(w, r)
			return
		}
		if m.emptySegment && !ownPath {
			notFound(w, m.req)
			return
		}
		for _, n := range names {
			m.req.SetPathValue(n, r.PathValue(n))
		}
		h(w, m.req)
	}
}

// wildcards lists the wildcard names of a mux pattern.
func wildcards(pattern string) []string {
	var names []string
	for _, seg := range strings.Split(pattern, "/") {
		if n, ok := strings.CutPrefix(seg, "{"); ok {
			n = strings.TrimSuffix(strings.TrimSuffix(n, "}"), "...")
			if n != "$" {
				names = append(names, n)
			}
		}
	}
	return names
}
