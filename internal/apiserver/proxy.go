package apiserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"kubelite/internal/api"
)

// target resolves proxy/minions/<id> and proxy/services/<id> to a base URL.
func (s *Server) target(ctx context.Context, r *http.Request, kind, id string) (*url.URL, error) {
	res, ok := urlResources[kind]
	if !ok {
		return nil, nil
	}
	switch res {
	case api.Minions:
		obj, err := s.cfg.Store.Get(ctx, api.Minions, "", id)
		if err != nil {
			return nil, err
		}
		return url.Parse(s.kubeletBase(obj.(*api.Minion)))
	case api.Services:
		ns, _ := requestNamespace(r, api.Services)
		if ns == "" {
			ns = api.DefaultNamespace
		}
		if _, err := s.cfg.Store.Get(ctx, api.Services, ns, id); err != nil {
			return nil, err
		}
		obj, err := s.cfg.Store.Get(ctx, api.EndpointsResource, ns, id)
		if err != nil && !api.IsNotFound(err) {
			return nil, err
		}
		var eps []string
		if obj != nil {
			eps = obj.(*api.Endpoints).Endpoints
		}
		if len(eps) == 0 {
			return nil, api.NewUnavailable(fmt.Sprintf("service %q has no endpoints", id))
		}
		u, err := url.Parse("http://" + eps[rand.IntN(len(eps))])
		if err != nil || u.Host == "" {
			return nil, api.NewUnavailable(fmt.Sprintf("service %q has a bad endpoint %q", id, eps[0]))
		}
		return u, nil
	}
	return nil, nil
}

// serveProxy handles proxy/<kind>/<id>/<path...>.
func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request, ver, rest string) {
	kind, rest, _ := strings.Cut(rest, "/")
	id, path, _ := strings.Cut(rest, "/")
	if kind == "" || id == "" {
		notFound(w, r)
		return
	}
	base, err := s.target(r.Context(), r, kind, id)
	if err != nil {
		writeError(w, err)
		return
	}
	if base == nil {
		notFound(w, r)
		return
	}
	rp := &httputil.ReverseProxy{
		Transport:     s.transport,
		FlushInterval: -1, // stream logs as they come
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = base.Scheme
			pr.Out.URL.Host = base.Host
			pr.Out.URL.Path = "/" + path
			pr.Out.URL.RawPath = ""
			q := pr.In.URL.Query()
			q.Del("namespace")
			pr.Out.URL.RawQuery = q.Encode()
			pr.Out.Host = base.Host
			// The caller's credentials are the API's, never the target's:
			// the master authenticates to kubelets with its own certificate.
			for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
				pr.Out.Header.Del(h)
			}
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.log.WithError(err).WithField("target", base.String()).Debug("proxy failed")
			writeStatus(w, api.NewUnavailable(fmt.Sprintf("%s %q at %s unreachable: %v", kind, id, base.Host, err)).Status)
		},
	}
	rp.ServeHTTP(w, r)
}

// serveRedirect handles redirect/<kind>/<id>: a 307 to the proxy target.
func (s *Server) serveRedirect(w http.ResponseWriter, r *http.Request, rest string) {
	segs := splitPath(rest)
	if len(segs) != 2 {
		notFound(w, r)
		return
	}
	if !onlyGET(w, r) {
		return
	}
	base, err := s.target(r.Context(), r, segs[0], segs[1])
	if err != nil {
		writeError(w, err)
		return
	}
	if base == nil {
		notFound(w, r)
		return
	}
	base.Path = "/"
	http.Redirect(w, r, base.String(), http.StatusTemporaryRedirect)
}
