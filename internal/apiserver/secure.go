package apiserver

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/auth"
	"kubelite/internal/join"
	"kubelite/internal/v1api"
)

// Security makes the API authenticate and authorize every request but the
// public ones. Nil in Config is the 2014 API: no TLS, no authentication
// (--insecure, and tests of the handlers themselves).
type Security struct {
	// Authn checks bearer tokens and client certificates.
	Authn *auth.Authenticator
	// Public are handlers served to anyone, by exact path, before
	// authentication: the join (the CA certificate, the token exchange).
	Public map[string]http.Handler
}

// alwaysPublic answer anyone, as in Kubernetes.
var alwaysPublic = map[string]bool{
	"/healthz": true, "/healthz/": true, "/livez": true, "/livez/": true,
	"/readyz": true, "/readyz/": true, "/version": true, "/version/": true,
}

type userKey struct{}

// UserFrom returns the authenticated user of a request's context; ok is
// false when the API runs without Security.
func UserFrom(ctx context.Context) (auth.User, bool) {
	u, ok := ctx.Value(userKey{}).(auth.User)
	return u, ok
}

// guard authenticates and authorizes a request, then serves it with the
// user in its context.
func (s *Server) guard(next http.Handler) http.Handler {
	sec := s.cfg.Security
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if alwaysPublic[p] || isDashboard(p) {
			next.ServeHTTP(w, r)
			return
		}
		if h, ok := sec.Public[p]; ok {
			h.ServeHTTP(w, r)
			return
		}
		u, err := s.authenticate(r)
		if err != nil {
			writeError(w, err)
			return
		}
		attrs := requestAttributes(r)
		if name, ok := u.MinionName(); ok && attrs.Verb == auth.VerbCreate && attrs.Resource == auth.ResourceMinions && attrs.Name == "" {
			attrs.Name = name // the id is in the body: admitUser refuses any other
		}
		if ok, why := auth.Authorize(u, attrs); !ok {
			writeStatus(w, newStatus(http.StatusForbidden, api.ReasonForbidden, why))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

// authenticate finds who is asking. Plain HTTP (no TLS) is the tutorial's
// curl on the master host: it may read, from this host only, as the
// loopback reader; every other plain request is refused with what to use.
func (s *Server) authenticate(r *http.Request) (auth.User, error) {
	if r.TLS == nil {
		if !fromThisHost(r) {
			return auth.User{}, plainRefused(r, "plain HTTP is served only to this host's own reads")
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return auth.User{}, plainRefused(r, "plain HTTP is read-only")
		}
		return auth.User{Name: auth.LoopbackReader}, nil
	}
	u, ok, err := s.cfg.Security.Authn.Authenticate(r)
	if err != nil {
		return auth.User{}, unauthorized(fmt.Sprintf("invalid credential: %v", err))
	}
	if !ok {
		return auth.User{}, unauthorized("this API needs a credential: a bearer token (the admin's is in DATA-DIR/admin.kubeconfig; `kubelite kubeconfig` prints it) or a client certificate from the cluster's CA")
	}
	return u, nil
}

func unauthorized(msg string) error {
	return &api.StatusError{Status: newStatus(http.StatusUnauthorized, api.ReasonUnauthorized, msg)}
}

func plainRefused(r *http.Request, why string) error {
	host := r.Host
	if host == "" {
		host = "MASTER:8080"
	}
	return &api.StatusError{Status: newStatus(http.StatusForbidden, api.ReasonForbidden, fmt.Sprintf(
		"%s: use https://%s with a bearer token (`kubelite kubeconfig` on the master prints an admin kubeconfig; "+
			"kubectl --kubeconfig FILE, or --token and --certificate-authority); minions join with `kubelite token`", why, host))}
}

// fromThisHost reports whether a request comes from this host: a loopback
// peer, or a peer whose address is the address it reached (curl on the
// master to its own 192.168.1.200).
func fromThisHost(r *http.Request) bool {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := peer.Addr().Unmap()
	if ip.IsLoopback() {
		return true
	}
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	l, err := netip.ParseAddrPort(local.String())
	return err == nil && l.Addr().Unmap() == ip
}

// isDashboard tells the dashboard's static files (internal/dashboard: no
// data, no secret) apart: they answer anyone, and the page then uses the
// API with the user's token.
func isDashboard(p string) bool { return p == "/ui" || strings.HasPrefix(p, "/ui/") }

// requestAttributes describes a request for auth.Authorize, from its method
// and path (the same grammar as the router's, router.go).
func requestAttributes(r *http.Request) auth.Attributes {
	q := r.URL.Query() // parsed once: every request is described twice (instrument, guard)
	if v1, ok := v1api.ParseRequest(r.Method, r.URL.Path, q); ok {
		return v1Attributes(r, v1)
	}
	a := auth.Attributes{Path: r.URL.Path, Namespace: q.Get("namespace")}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok {
		a.Verb = verbOf(r.Method, false)
		return a
	}
	_, rest, _ = strings.Cut(rest, "/") // the version
	segs := splitPath(rest)
	if len(segs) == 0 {
		a.Verb = verbOf(r.Method, false)
		return a
	}
	switch segs[0] {
	case "version":
		a.Verb = verbOf(r.Method, false)
		return a
	case "proxy", "redirect":
		a.Verb = segs[0]
		if len(segs) > 1 {
			a.Resource = resourceName(segs[1])
		}
		if len(segs) > 2 {
			a.Name = segs[2]
		}
		return a
	case "watch":
		a.Verb = "watch"
		if len(segs) > 1 {
			a.Resource = resourceName(segs[1])
		}
		if len(segs) > 2 {
			a.Name = segs[2]
		}
		return a
	}
	a.Resource = resourceName(segs[0])
	if len(segs) > 1 {
		a.Name = segs[1]
	}
	a.Verb = verbOf(r.Method, a.Name == "")
	if a.Verb == "get" && a.Name == "" && a.Resource != "" {
		a.Verb = "list"
	}
	if q.Get("watch") == "true" && a.Verb == "list" {
		a.Verb = "watch"
	}
	return a
}

// v1Attributes describes an /api/v1 resource request with the policy's
// words: the v1beta1 resource (minions for nodes), patch as update,
// deletecollection as delete; pods/log stays proxy (it reaches a kubelet).
func v1Attributes(r *http.Request, v1 v1api.Request) auth.Attributes {
	a := auth.Attributes{Path: r.URL.Path, Verb: v1.Verb, Resource: string(v1.InternalResource), Namespace: v1.Namespace, Name: v1.Name}
	if a.Resource == "" {
		a.Resource = v1.Resource
	}
	switch v1.Verb {
	case "patch":
		a.Verb = auth.VerbUpdate
	case "deletecollection":
		a.Verb = auth.VerbDelete
	}
	return a
}

// resourceName maps a URL resource word to the resource's name; an unknown
// word stays as it is (the router answers 404 for it).
func resourceName(word string) string {
	if res, ok := urlResources[word]; ok {
		return string(res)
	}
	return word
}

func verbOf(method string, collection bool) string {
	switch method {
	case http.MethodGet, http.MethodHead:
		return "get"
	case http.MethodPost:
		return "create"
	case http.MethodPut, http.MethodPatch:
		return "update"
	case http.MethodDelete:
		return "delete"
	}
	return strings.ToLower(method)
}

// admitUser applies the checks that need the stored object to a write by a
// minion's credential, and returns what to store: a minion writes only its
// own Minion (bound to its key: the credential annotations and the address
// it joined with are kept), and only the status of pods bound to it.
// Writes by other users pass unchanged.
func (s *Server) admitUser(r *http.Request, res api.Resource, obj api.Object) (api.Object, error) {
	u, ok := UserFrom(r.Context())
	if !ok {
		return obj, nil
	}
	name, isMinion := u.MinionName()
	if !isMinion {
		return obj, nil
	}
	ctx := r.Context()
	switch res {
	case api.Minions:
		m := obj.(*api.Minion)
		if m.ID != name {
			return nil, forbidden(fmt.Sprintf("user %q may write only minion %q, not %q", u.Name, name, m.ID))
		}
		var cur *api.Minion
		if got, err := s.cfg.Store.Get(ctx, api.Minions, "", name); err == nil {
			cur = got.(*api.Minion)
		} else if !api.IsNotFound(err) {
			return nil, err
		}
		claim := join.Claim{Name: name, Fingerprint: peerFingerprint(r), From: remoteHost(r), At: time.Now()}
		if claim.Fingerprint == "" {
			return nil, forbidden(fmt.Sprintf("user %q writes its minion only with its client certificate", u.Name))
		}
		bound, err := join.Bind(cur, claim)
		if err != nil {
			return nil, err
		}
		if cur != nil && cur.Annotations[join.AnnotationCredential] != "" {
			bound = cur // the name was bound before: keep when and where
		}
		for k, v := range bound.Annotations {
			if strings.HasPrefix(k, "kubelite.io/") {
				if m.Annotations == nil {
					m.Annotations = map[string]string{}
				}
				m.Annotations[k] = v
			}
		}
		if cur != nil && cur.HostIP != "" {
			m.HostIP = cur.HostIP
		}
		return m, nil
	case api.Pods:
		in := obj.(*api.Pod)
		got, err := s.cfg.Store.Get(ctx, api.Pods, in.Namespace, in.ID)
		if err != nil {
			return nil, err
		}
		cur := got.(*api.Pod)
		if cur.DesiredState.Host != name {
			return nil, forbidden(fmt.Sprintf("user %q may write only pods bound to minion %q; pod %s/%s is bound to %q", u.Name, name, in.Namespace, in.ID, cur.DesiredState.Host))
		}
		out := api.Copy(cur)
		out.CurrentState = in.CurrentState // status only
		out.ResourceVersion = in.ResourceVersion
		return out, nil
	}
	return obj, nil
}

// statusAllowed is the check of a pod status write by the request's user
// (WritePodStatus's allow): a minion's credential writes only the status
// of pods bound to it; nil for every other user.
func (s *Server) statusAllowed(r *http.Request) func(*api.Pod) error {
	u, ok := UserFrom(r.Context())
	if !ok {
		return nil
	}
	name, isMinion := u.MinionName()
	if !isMinion {
		return nil
	}
	return func(cur *api.Pod) error {
		if cur.DesiredState.Host != name {
			return forbidden(fmt.Sprintf("user %q may write only pods bound to minion %q; pod %s/%s is bound to %q", u.Name, name, cur.Namespace, cur.ID, cur.DesiredState.Host))
		}
		return nil
	}
}

func forbidden(msg string) error {
	return &api.StatusError{Status: newStatus(http.StatusForbidden, api.ReasonForbidden, msg)}
}

// peerFingerprint is the key fingerprint of the request's client
// certificate, "" without one.
func peerFingerprint(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return ""
	}
	var c *x509.Certificate = r.TLS.PeerCertificates[0]
	return join.KeyFingerprint(c.RawSubjectPublicKeyInfo)
}

func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}
