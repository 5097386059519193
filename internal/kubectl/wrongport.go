package kubectl

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// What answers at a server URL that is not kubelite's API.
const (
	serverUnknown = ""
	serverKubelet = "kubelet"
	serverEtcd    = "etcd"
)

// identifyTimeout bounds the questions identifyServer asks.
const identifyTimeout = 2 * time.Second

// identifyServer asks the server at base what it is, after a command against
// it failed: etcd answers GET /version with {"etcdserver":...}, a kubelet
// answers GET /healthz?verbose with its pods-synced check. It sends no
// credential and does not verify TLS: the answer only picks a message.
func identifyServer(ctx context.Context, base string) string {
	ctx, cancel := context.WithTimeout(ctx, identifyTimeout)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // identification only, nothing is sent
		Proxy:           http.ProxyFromEnvironment,
	}}
	defer hc.CloseIdleConnections()
	get := func(path string) (int, []byte) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path, nil)
		if err != nil {
			return 0, nil
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return resp.StatusCode, b
	}
	code, version := get("/version")
	if code == 0 {
		return serverUnknown // nothing answers: the connection error says enough
	}
	_, health := get("/healthz?verbose")
	return classifyServer(version, health)
}

// classifyServer tells etcd and a kubelet from their answers to GET
// /version and GET /healthz?verbose.
func classifyServer(version, health []byte) string {
	var v map[string]any
	if json.Unmarshal(version, &v) == nil {
		if _, ok := v["etcdserver"]; ok {
			return serverEtcd
		}
	}
	if strings.Contains(string(health), "]pods-synced ") {
		return serverKubelet
	}
	return serverUnknown
}

// wrongServer rewrites err when the server at base turned out to be a
// kubelet or etcd: a new user's `-s MINION:10250` or `-s MASTER:4001`.
func wrongServer(err error, base, what string) error {
	const api = "point -s at the master's API instead (HOST:8080, or 127.0.0.1:8081 for a standalone)"
	switch what {
	case serverKubelet:
		return fmt.Errorf("%s is a kubelet (a minion's port, 10250), not the API server: %s (%w)", base, api, err)
	case serverEtcd:
		return fmt.Errorf("%s is etcd (2379/4001), not the API server: kubectl talks to the master's API, which talks to etcd; %s (%w)", base, api, err)
	}
	return err
}
