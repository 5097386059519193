package endpoint

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultPort is the API's port when an address names none.
const DefaultPort = 8080

// Endpoint is how a client reaches the API.
type Endpoint struct {
	// URL is scheme://host:port, no path, no trailing slash: the first
	// master tried.
	URL string
	// Others are more masters of the same cluster (same CA, same
	// credential), in the same form as URL: with any, RoundTripper fails
	// over among them all (see Set). Empty for one master.
	Others []string
	// TLS verifies the server and may carry a client certificate; nil for
	// http:// (and for https:// it means the system roots).
	TLS *tls.Config
	// Token is the bearer token sent with every request; "" sends none.
	Token string
}

// Normalize turns HOST, HOST:PORT or http(s)://HOST[:PORT][/] into
// scheme://host:port. A bare address gets defaultScheme ("https" or "http");
// a missing port gets DefaultPort.
func Normalize(addr, defaultScheme string) (string, error) {
	s := strings.TrimSpace(addr)
	if s == "" {
		return "", fmt.Errorf("no API address")
	}
	if !strings.Contains(s, "://") {
		s = defaultScheme + "://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("API address %q: want HOST:PORT or https://HOST:PORT", addr)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("API address %q: scheme must be https or http", addr)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("API address %q: no host", addr)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("API address %q: want scheme://HOST:PORT, without a path", addr)
	}
	port := u.Port()
	if port == "" {
		port = strconv.Itoa(DefaultPort)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("API address %q: port must be 1-65535", addr)
	}
	return u.Scheme + "://" + net.JoinHostPort(u.Hostname(), port), nil
}

// NormalizeList is Normalize for a comma-separated list of masters
// ("m1:8080,m2:8080"): each normalised, none empty or given twice.
func NormalizeList(list, defaultScheme string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, a := range strings.Split(list, ",") {
		u, err := Normalize(a, defaultScheme)
		if err != nil {
			if strings.TrimSpace(a) == "" && strings.Contains(list, ",") {
				return nil, fmt.Errorf("API address list %q: an empty entry", list)
			}
			return nil, err
		}
		if seen[u] {
			return nil, fmt.Errorf("API address list %q: %s given twice", list, u)
		}
		seen[u] = true
		out = append(out, u)
	}
	return out, nil
}

// List returns an endpoint for the normalised urls (at least one): the
// first is URL, the rest Others.
func List(urls []string) Endpoint {
	if len(urls) == 0 {
		return Endpoint{}
	}
	return Endpoint{URL: urls[0], Others: append([]string(nil), urls[1:]...)}
}

// Plain returns an endpoint for addr (one address or a comma-separated
// list) with no credential; a bare address means http:// (tests,
// --insecure masters).
func Plain(addr string) (Endpoint, error) {
	urls, err := NormalizeList(addr, "http")
	if err != nil {
		return Endpoint{}, err
	}
	return List(urls), nil
}

// URLs returns URL then Others.
func (e Endpoint) URLs() []string { return append([]string{e.URL}, e.Others...) }

// Secure reports whether the endpoint speaks TLS.
func (e Endpoint) Secure() bool { return strings.HasPrefix(e.URL, "https://") }

// HostPort returns the endpoint's host:port.
func (e Endpoint) HostPort() string {
	_, hp, _ := strings.Cut(e.URL, "://")
	return hp
}

// Host returns the endpoint's host name or IP.
func (e Endpoint) Host() string {
	h, _, err := net.SplitHostPort(e.HostPort())
	if err != nil {
		return e.HostPort()
	}
	return h
}

// String returns the URL, or the URLs joined by commas (never the token).
func (e Endpoint) String() string { return strings.Join(e.URLs(), ",") }

// NewTransport returns the keep-alive transport every API client uses: TLS
// from e, no proxy from the environment (the master is reached directly),
// bounded dial and header waits.
func (e Endpoint) NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       e.TLS.Clone(),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
	}
}

// Wrap returns rt with e's credential added to every request.
func (e Endpoint) Wrap(rt http.RoundTripper) http.RoundTripper {
	if e.Token == "" {
		return rt
	}
	return bearer{token: e.Token, next: rt}
}

// failoverKeepAlive probes an idle connection to a master after 1 s, then
// every 1 s, and gives it up after 2 unanswered probes: a watch on a master
// whose host vanished (no reset ever comes) breaks within about 3 s, and
// the caller's next watch goes to another master. A live host's kernel
// answers the probes, however quiet the watch.
var failoverKeepAlive = net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 2}

// RoundTripper returns a new transport for e with its credential; with
// Others, a Set over every master that fails over among them, on a
// transport that gives up dialing a master after FailoverDialTimeout and
// waiting for its answer after FailoverHeaderTimeout.
func (e Endpoint) RoundTripper() http.RoundTripper {
	if len(e.Others) == 0 {
		return e.Wrap(e.NewTransport())
	}
	tr := e.NewTransport()
	tr.DialContext = (&net.Dialer{Timeout: FailoverDialTimeout, KeepAliveConfig: failoverKeepAlive}).DialContext
	tr.ResponseHeaderTimeout = FailoverHeaderTimeout
	return e.Wrap(NewSet(e.URLs(), tr))
}

// bearer adds "Authorization: Bearer <token>" unless the request has one.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") != "" {
		return b.next.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r2)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// wrapped transport.
func (b bearer) CloseIdleConnections() {
	if c, ok := b.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
