package kubectl

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"kubelite/internal/api"
	"kubelite/internal/version"
)

// ClientVersion is this binary's version in the API's shape.
func ClientVersion() api.ServerVersion {
	v := version.Get()
	return api.ServerVersion{Major: v.Major, Minor: v.Minor, GitVersion: v.GitVersion, GitCommit: v.GitCommit, GitTreeState: v.GitTreeState}
}

// httpExtras are the plain HTTP calls of Client: /version and container logs.
type httpExtras struct {
	base string // "http://host:8080"
	hc   *http.Client
}

// ServerVersion implements Client.
func (h *httpExtras) ServerVersion(ctx context.Context) (api.ServerVersion, error) {
	var v api.ServerVersion
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/version", nil)
	if err != nil {
		return v, fmt.Errorf("get version: %w", err)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return v, fmt.Errorf("get version: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return v, fmt.Errorf("get version: %w", statusFromResponse(resp))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&v); err != nil {
		return v, fmt.Errorf("get version: decode: %w", err)
	}
	return v, nil
}

// ContainerLogs implements Client.
func (h *httpExtras) ContainerLogs(ctx context.Context, host, namespace, pod, container string, follow bool, w io.Writer) error {
	u := h.base + "/api/v1beta1/proxy/minions/" + url.PathEscape(host) + "/containerLogs/" +
		url.PathEscape(namespace) + "/" + url.PathEscape(pod) + "/" + url.PathEscape(container)
	if follow {
		u += "?follow=true"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("get logs: %w", err)
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return fmt.Errorf("get logs: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get logs: %w", statusFromResponse(resp))
	}
	if _, err := io.Copy(w, resp.Body); err != nil && !(follow && ctx.Err() != nil) {
		return fmt.Errorf("get logs: %w", err)
	}
	return nil
}

// statusFromResponse turns an error response into an *api.StatusError: the
// server's Status when it sent one, else the status line and body text.
func statusFromResponse(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var st api.Status
	if json.Unmarshal(body, &st) == nil && st.Kind == "Status" && st.Message != "" {
		return &api.StatusError{Status: st}
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = resp.Status
	} else {
		msg = resp.Status + ": " + msg
	}
	return &api.StatusError{Status: api.Status{Status: "Failure", Code: resp.StatusCode, Message: msg}}
}
