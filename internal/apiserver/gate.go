package apiserver

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strings"

	"kubelite/internal/api"
)

// gate refuses, before authentication, what a web page of another site
// could make an administrator's browser send (issue 17):
//
//   - a Host header that names none of this API's names: a page on
//     evil.example whose name is made to resolve to the master (DNS
//     rebinding) sends Host: evil.example. Any IP address is a name of the
//     API (a page cannot rebind an IP literal), and so are localhost, this
//     host's name, the DNS names of the serving certificate and
//     Config.HostNames. Otherwise 421 Misdirected Request. With TLS (or
//     HostNames) every request is checked: a client that reaches the API by
//     another name would fail the certificate check anyway. Without TLS
//     (--insecure, where any name used to work) only requests from a
//     browser are: those carrying Sec-Fetch-Site or Sec-Fetch-Mode, which
//     every current browser sends on every request and no other client
//     does.
//   - an Origin header other than the API's own (scheme://Host): 403. A
//     browser sends Origin on every cross-site request that could write;
//     kubectl, curl and kubelite's own clients send none.
//   - a write from a browser (Sec-Fetch-Site) that is not same-origin: 403,
//     for browsers that send a "null" or no Origin.
//   - a POST, PUT or PATCH, or a DELETE with a body, whose Content-Type is
//     not JSON (application/json, or application/<x>+json): 415. The types
//     a page may send cross-site without a preflight (text/plain, forms)
//     are never JSON. No Content-Type at all is JSON, as in Kubernetes, for
//     a client that is not a browser (the real kubectl's create --raw sends
//     none); from a browser (Origin or Sec-Fetch-* present) it is a 415.
//
// The always-public health paths are exempt from the Host check (load
// balancers probe them by any name); nothing else is.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		strict := s.cfg.TLS != nil || len(s.cfg.HostNames) > 0 || fromBrowser(r)
		if strict && !alwaysPublic[r.URL.Path] && !s.hosts.allows(r.Host) {
			writeStatus(w, newStatus(http.StatusMisdirectedRequest, api.ReasonBadRequest, fmt.Sprintf(
				"Host %q is not a name of this API server (it answers to its IP addresses and to %s); "+
					"use one of those, or give the name to the master with --tls-san", r.Host, s.hosts)))
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
			writeStatus(w, newStatus(http.StatusForbidden, api.ReasonForbidden, fmt.Sprintf(
				"cross-origin request refused: Origin %q is not this API's own (%s); "+
					"the API takes no requests from web pages", o, ownOrigin(r))))
			return
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" && r.Method != http.MethodGet && r.Method != http.MethodHead {
			writeStatus(w, newStatus(http.StatusForbidden, api.ReasonForbidden, fmt.Sprintf(
				"cross-site request refused (Sec-Fetch-Site: %s): the API takes no writes from web pages", site)))
			return
		}
		if needsJSON(r) {
			ct := r.Header.Get("Content-Type")
			browser := fromBrowser(r) || r.Header.Get("Origin") != ""
			if (ct != "" || browser) && !isJSON(ct) && !isKubeProtobuf(ct) {
				writeStatus(w, newStatus(http.StatusUnsupportedMediaType, api.ReasonBadRequest, fmt.Sprintf(
					"%s %s needs Content-Type: application/json (got %q); kubectl sends it, "+
						"and curl needs -H 'Content-Type: application/json'", r.Method, r.URL.Path, ct)))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// fromBrowser reports the fetch metadata headers browsers send.
func fromBrowser(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Sec-Fetch-Mode") != ""
}

// needsJSON: writes that may carry a body. A DELETE without a body (the
// v0.6 clients' and curl -X DELETE) takes no Content-Type; a browser
// cannot send a cross-site DELETE without a CORS preflight, which the API
// never grants.
func needsJSON(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return true
	case http.MethodDelete:
		return r.ContentLength != 0
	}
	return false
}

// isKubeProtobuf reports Kubernetes' protobuf, what client-go's typed
// clientset writes by default (/api/v1 decodes it). A page cannot send it
// cross-site without a preflight, which the API never grants.
func isKubeProtobuf(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/vnd.kubernetes.protobuf"
}

// isJSON reports application/json and application/<x>+json (Kubernetes'
// patch types), parameters allowed.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// ownOrigin is scheme://Host of the request as it reached the API.
func ownOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// sameOrigin compares an Origin header with the API's own origin, default
// ports filled in, names case-insensitively.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || u.Path != "" && u.Path != "/" {
		return false // "null", garbage
	}
	own, err := url.Parse(ownOrigin(r))
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Scheme, own.Scheme) && hostPortOf(u) == hostPortOf(own)
}

func hostPortOf(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return net.JoinHostPort(strings.ToLower(strings.TrimSuffix(u.Hostname(), ".")), port)
}

// hostNames are the names (not addresses) the API answers to.
type hostNames map[string]bool

// newHostNames collects localhost, this host's name (and its first label),
// the DNS names of every certificate in tc, and extra.
func newHostNames(tc *tls.Config, extra []string) hostNames {
	h := hostNames{"localhost": true}
	add := func(n string) {
		n = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
		if n != "" {
			h[n] = true
		}
	}
	if hn, err := os.Hostname(); err == nil {
		add(hn)
		first, _, _ := strings.Cut(hn, ".")
		add(first)
	}
	if tc != nil {
		for _, c := range tc.Certificates {
			leaf := c.Leaf
			if leaf == nil && len(c.Certificate) > 0 {
				leaf, _ = x509.ParseCertificate(c.Certificate[0])
			}
			if leaf != nil {
				for _, n := range leaf.DNSNames {
					add(n)
				}
			}
		}
	}
	for _, n := range extra {
		add(n)
	}
	return h
}

// allows reports whether a Host header names this API: empty (HTTP/1.0,
// never a browser), any IP address, or one of the names.
func (h hostNames) allows(host string) bool {
	if host == "" {
		return true
	}
	name := host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		name = hn
	}
	name = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(name, "]"), "["), ".")
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	return h[strings.ToLower(name)]
}

func (h hostNames) String() string {
	names := make([]string, 0, len(h))
	for n := range h {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
