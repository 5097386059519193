package swarmbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// engineAPI reads container lists from one Docker Engine over its unix
// socket (Engine API 1.41, what the machines' engine speaks). Only reads:
// every change goes through the docker CLI.
type engineAPI struct {
	socket string
	hc     *http.Client
}

func newEngineAPI(socket string) *engineAPI {
	return &engineAPI{socket: socket, hc: &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy: nil,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			},
			MaxIdleConnsPerHost: 2,
		},
	}}
}

// containers lists the running containers carrying label (key or key=value).
func (e *engineAPI) containers(ctx context.Context, label string) ([]container, error) {
	f, _ := json.Marshal(map[string][]string{"label": {label}, "status": {"running"}})
	u := "http://engine/v1.41/containers/json?filters=" + url.QueryEscape(string(f))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", e.socket, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("list containers on %s: %s: %s", e.socket, resp.Status, b)
	}
	var cs []container
	if err := json.NewDecoder(resp.Body).Decode(&cs); err != nil {
		return nil, fmt.Errorf("list containers on %s: %w", e.socket, err)
	}
	return cs, nil
}

func (e *engineAPI) close() { e.hc.CloseIdleConnections() }
