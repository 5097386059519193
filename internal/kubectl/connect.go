package kubectl

import (
	"net/http"

	"kubelite/internal/store/remote"
)

// httpClient is the default Client: objects through store/remote, /version
// and logs as plain HTTP on the same transport.
type httpClient struct {
	*remote.Store
	*httpExtras
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
	return httpClient{Store: st, httpExtras: &httpExtras{base: st.Base(), hc: &http.Client{Transport: rt}}}, nil
}
