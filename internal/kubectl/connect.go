package kubectl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/endpoint"
	"kubelite/internal/store"
	"kubelite/internal/store/remote"
)

// httpClient is the default Client: objects through store/remote, /version
// and logs as plain HTTP on the same transport. With several masters the
// transport is an endpoint.Set: every call fails over among them.
type httpClient struct {
	st      *remote.Store
	ex      *httpExtras
	servers []string // every server this client may try, for the error
}

var _ Client = httpClient{}

// ConnectHTTP opens the HTTP client of the API server(s) at ep.
func ConnectHTTP(ep endpoint.Endpoint) (Client, error) {
	rt := ep.RoundTripper()
	st := remote.NewWithTransport(ep, rt)
	return httpClient{st: st, ex: &httpExtras{base: st.Base(), hc: &http.Client{Transport: rt}}, servers: ep.URLs()}, nil
}

func (h httpClient) Get(ctx context.Context, res api.Resource, ns, id string) (api.Object, error) {
	o, err := h.st.Get(ctx, res, ns, id)
	return o, h.explain(err)
}

func (h httpClient) List(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	objs, rev, err := h.st.List(ctx, res, opts)
	return objs, rev, h.explain(err)
}

func (h httpClient) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	o, err := h.st.Create(ctx, obj)
	return o, h.explain(err)
}

func (h httpClient) Update(ctx context.Context, obj api.Object) (api.Object, error) {
	o, err := h.st.Update(ctx, obj)
	return o, h.explain(err)
}

func (h httpClient) Delete(ctx context.Context, res api.Resource, ns, id string) (api.Object, error) {
	o, err := h.st.Delete(ctx, res, ns, id)
	return o, h.explain(err)
}

func (h httpClient) Watch(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	ch, err := h.st.Watch(ctx, res, opts)
	return ch, h.explain(err)
}

func (h httpClient) ServerVersion(ctx context.Context) (api.ServerVersion, error) {
	v, err := h.ex.ServerVersion(ctx)
	return v, h.explain(err)
}

func (h httpClient) ContainerLogs(ctx context.Context, host, ns, pod, container string, follow bool, w io.Writer) error {
	return h.explain(h.ex.ContainerLogs(ctx, host, ns, pod, container, follow, w))
}

// explain turns a failure to reach any API server into a NoServerError
// (which servers were tried, why each failed, what to do); other errors,
// answers of a server among them, pass unchanged.
func (h httpClient) explain(err error) error {
	if err == nil {
		return nil
	}
	var se *api.StatusError
	if errors.As(err, &se) {
		return err
	}
	var af *endpoint.AllFailedError
	if errors.As(err, &af) {
		return &NoServerError{Tried: af.Tried, Err: err}
	}
	var me *endpoint.MasterError
	if errors.As(err, &me) {
		return &NoServerError{Tried: []endpoint.Attempt{{URL: me.URL, Err: me.Err}}, Err: err}
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return &NoServerError{Tried: []endpoint.Attempt{{URL: h.servers[0], Err: oe}}, Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &NoServerError{Tried: []endpoint.Attempt{{URL: h.servers[0], Err: ne}}, Err: err}
	}
	return err
}

// NoServerError is kubectl finding no API server: each address tried and
// why it failed, then what to check.
type NoServerError struct {
	Tried []endpoint.Attempt
	Err   error
}

func (e *NoServerError) Error() string {
	var b strings.Builder
	b.WriteString("no API server answered at ")
	for i, a := range e.Tried {
		if i > 0 {
			b.WriteString(" or ")
		}
		fmt.Fprintf(&b, "%s (%s)", a.URL, reason(a.Err))
	}
	b.WriteString(": check that kubelite master (or standalone) runs there and that its port is open to this host" +
		" (kubelite doctor); start one with `sudo kubelite standalone` on one machine," +
		" or name a running master with -s HOST[:PORT] (8080 when omitted; m1,m2 for several) or --kubeconfig FILE")
	return b.String()
}

func (e *NoServerError) Unwrap() error { return e.Err }

// reason is the short why of a failed attempt: "connect: connection
// refused", "i/o timeout", "lookup m1: no such host".
func reason(err error) string {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "lookup " + dns.Name + ": " + dns.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// answersAPI reports whether server answers GET /version as an API server
// does (a JSON version with a gitVersion), within half a second. A plain TCP
// check would not do: on a standalone machine the tutorial's apache pod
// listens on localhost:8080.
func answersAPI(server string) bool {
	hc := &http.Client{Timeout: 500 * time.Millisecond}
	resp, err := hc.Get(strings.TrimRight(server, "/") + "/version")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var v api.ServerVersion
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&v) != nil {
		return false
	}
	return v.GitVersion != ""
}
