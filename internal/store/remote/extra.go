package remote

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"kubelite/internal/api"
)

// ServerVersion GETs /version (what `kubectl version` prints as the server's).
func (s *Store) ServerVersion(ctx context.Context) (api.ServerVersion, error) {
	var v api.ServerVersion
	if err := s.do(ctx, http.MethodGet, s.base+"/version", nil, &v); err != nil {
		return v, err
	}
	return v, nil
}

// Stream GETs path (absolute, e.g. "/api/v1beta1/proxy/minions/m1/containerLogs/default/web/c")
// without a timeout and returns the body for the caller to read and close;
// a non-2xx answer is an *api.StatusError. kubectl log uses it.
func (s *Store) Stream(ctx context.Context, path string) (io.ReadCloser, error) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", path, err)
	}
	resp, err := s.watcher.Do(req)
	if err != nil {
		return nil, s.connError(ctx, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, statusError(resp)
	}
	return resp.Body, nil
}
