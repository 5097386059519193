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
	"kubelite/internal/controller/endpoints"
	"kubelite/internal/store"
)

// target resolves proxy/minions/<id> and proxy/services/<id> to a base URL
// (nil for a kind that cannot be proxied) and says what it is.
//
// A minion is reached at its hostIP (its name without one) and
// kubeletPort. hostIP is the authoritative address: a join sets it from
// the join request and signs it into the kubelet's serving certificate,
// which the master verifies on every proxied connection in secure mode,
// and a minion's credential cannot change it afterwards (admitUser).
// kubelite.io/joined-from only records where the join came from (a NAT may
// stand between). What an admin may write there is bounded by checkTarget.
//
// A service is reached at one of its endpoints that the endpoints
// controller would derive now (endpoints.Compute: running pods the service
// selects, bound to a Ready minion): a hand-written Endpoints object
// naming anything else is not followed.
func (s *Server) target(ctx context.Context, r *http.Request, kind, id string) (*url.URL, targetKind, error) {
	res, ok := urlResources[kind]
	if !ok {
		return nil, targetPod, nil
	}
	switch res {
	case api.Minions:
		obj, err := s.cfg.Store.Get(ctx, api.Minions, "", id)
		if err != nil {
			return nil, targetKubelet, err
		}
		u, err := url.Parse(s.kubeletBase(obj.(*api.Minion)))
		if err != nil || u.Host == "" {
			return nil, targetKubelet, forbidden(fmt.Sprintf("minion %q has no usable address", id))
		}
		return u, targetKubelet, nil
	case api.Services:
		ep, err := s.serviceEndpoint(ctx, r, id)
		if err != nil {
			return nil, targetPod, err
		}
		u, err := url.Parse("http://" + ep)
		if err != nil || u.Host == "" {
			return nil, targetPod, api.NewUnavailable(fmt.Sprintf("service %q has a bad endpoint %q", id, ep))
		}
		return u, targetPod, nil
	}
	return nil, targetPod, nil
}

// serviceEndpoint picks at random one of the service's published endpoints
// that the endpoints controller would also derive from the pods now.
func (s *Server) serviceEndpoint(ctx context.Context, r *http.Request, id string) (string, error) {
	ns, _ := requestNamespace(r, api.Services)
	if ns == "" {
		ns = api.DefaultNamespace
	}
	obj, err := s.cfg.Store.Get(ctx, api.Services, ns, id)
	if err != nil {
		return "", err
	}
	svc := obj.(*api.Service)
	eobj, err := s.cfg.Store.Get(ctx, api.EndpointsResource, ns, id)
	if err != nil && !api.IsNotFound(err) {
		return "", err
	}
	var published []string
	if eobj != nil {
		published = eobj.(*api.Endpoints).Endpoints
	}
	if len(published) == 0 {
		return "", api.NewUnavailable(fmt.Sprintf("service %q has no endpoints", id))
	}
	pobjs, _, err := s.cfg.Store.List(ctx, api.Pods, store.ListOptions{Namespace: ns, Labels: api.SelectorFromSet(svc.Selector)})
	if err != nil {
		return "", err
	}
	pods := make([]*api.Pod, 0, len(pobjs))
	for _, o := range pobjs {
		pods = append(pods, o.(*api.Pod))
	}
	ready := map[string]bool{}
	derived := endpoints.Compute(svc, pods, func(host string) bool {
		if r, ok := ready[host]; ok {
			return r
		}
		m, err := s.cfg.Store.Get(ctx, api.Minions, "", host)
		ready[host] = err == nil && m.(*api.Minion).Status.Condition == api.MinionReady
		return ready[host]
	})
	live := make(map[string]bool, len(derived))
	for _, e := range derived {
		live[e] = true
	}
	var eps []string
	for _, e := range published {
		if live[e] {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return "", api.NewUnavailable(fmt.Sprintf("service %q has no endpoints on running pods "+
			"(its endpoints %v are not the service's running pods on Ready minions)", id, published))
	}
	return eps[rand.IntN(len(eps))], nil
}

// serveProxy handles proxy/<kind>/<id>/<path...>.
func (s *Server) serveProxy(w http.ResponseWriter, r *http.Request, ver, rest string) {
	kind, rest, _ := strings.Cut(rest, "/")
	id, path, _ := strings.Cut(rest, "/")
	if kind == "" || id == "" {
		notFound(w, r)
		return
	}
	base, tk, err := s.checkedTarget(r.Context(), r, kind, id)
	if err != nil {
		writeError(w, err)
		return
	}
	if base == nil {
		notFound(w, r)
		return
	}
	r = r.WithContext(withTargetKind(r.Context(), tk))
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
func (s *Server) serveRedirect(w http.ResponseWriter, r *http.Request, kind, id string) {
	base, _, err := s.checkedTarget(r.Context(), r, kind, id)
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
