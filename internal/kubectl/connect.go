package kubectl

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store"
	"kubelite/internal/store/remote"
)

// httpClient is the default Client: objects through store/remote, /version
// and logs as plain HTTP on the same transport.
type httpClient struct {
	st *remote.Store
	ex *httpExtras
}

var _ Client = httpClient{}

// ConnectHTTP opens the HTTP client of the API server at server
// ("http://host:8080" or "host:8080").
func ConnectHTTP(server string) (Client, error) {
	rt := remote.NewTransport()
	st, err := remote.NewWithTransport(server, rt)
	if err != nil {
		return nil, err
	}
	return httpClient{st: st, ex: &httpExtras{base: st.Base(), hc: &http.Client{Transport: rt}}}, nil
}

func (h httpClient) Get(ctx context.Context, res api.Resource, ns, id string) (api.Object, error) {
	return h.st.Get(ctx, res, ns, id)
}

func (h httpClient) List(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	return h.st.List(ctx, res, opts)
}

func (h httpClient) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	return h.st.Create(ctx, obj)
}

func (h httpClient) Update(ctx context.Context, obj api.Object) (api.Object, error) {
	return h.st.Update(ctx, obj)
}

func (h httpClient) Delete(ctx context.Context, res api.Resource, ns, id string) (api.Object, error) {
	return h.st.Delete(ctx, res, ns, id)
}

func (h httpClient) Watch(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	return h.st.Watch(ctx, res, opts)
}

func (h httpClient) ServerVersion(ctx context.Context) (api.ServerVersion, error) {
	return h.ex.ServerVersion(ctx)
}

func (h httpClient) ContainerLogs(ctx context.Context, host, ns, pod, container string, follow bool, w io.Writer) error {
	return h.ex.ContainerLogs(ctx, host, ns, pod, container, follow, w)
}

// listening dials server's host:port briefly.
func listening(server string) bool {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return false
	}
	c, err := net.DialTimeout("tcp", u.Host, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
