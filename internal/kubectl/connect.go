package kubectl

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/endpoint"
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

// ConnectHTTP opens the HTTP client of the API server at ep.
func ConnectHTTP(ep endpoint.Endpoint) (Client, error) {
	rt := ep.RoundTripper()
	st := remote.NewWithTransport(ep, rt)
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
