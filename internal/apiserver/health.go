package apiserver

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// Health codes of /validate, as v0.6 numbered them.
const (
	Healthy   = 0
	Unhealthy = 1
	Unknown   = 2
)

// ComponentStatus is one entry of /validate.
type ComponentStatus struct {
	Component  string `json:"component"`
	Health     string `json:"health"`
	HealthCode int    `json:"healthCode"`
	Msg        string `json:"msg,omitempty"`
	Err        string `json:"err,omitempty"`
}

// kubeletBase returns scheme://host:port of a minion's kubelet: https when
// the API is secure (kubelets then serve TLS with certificates from the
// cluster's CA, and the master authenticates to them).
func (s *Server) kubeletBase(m *api.Minion) string {
	host := m.HostIP
	if host == "" {
		host = m.ID
	}
	port := m.KubeletPort
	if port == 0 {
		port = api.DefaultKubeletPort
	}
	scheme := "http://"
	if s.cfg.Security != nil {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, strconv.Itoa(port))
}

type namedCheck struct {
	name  string
	check func(ctx context.Context) (string, error)
}

func (s *Server) serveValidate(w http.ResponseWriter, r *http.Request) {
	var checks []namedCheck
	names := make([]string, 0, len(s.cfg.HealthChecks))
	for n := range s.cfg.HealthChecks {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		hc := s.cfg.HealthChecks[n]
		checks = append(checks, namedCheck{n, func(ctx context.Context) (string, error) {
			if err := hc(ctx); err != nil {
				return "", err
			}
			return "ok", nil
		}})
	}
	minions, _, err := s.cfg.Store.List(r.Context(), api.Minions, store.ListOptions{})
	if err != nil {
		checks = append(checks, namedCheck{"minions", func(context.Context) (string, error) {
			return "", fmt.Errorf("list minions: %w", err)
		}})
	}
	for _, o := range minions {
		m := o.(*api.Minion)
		base := s.kubeletBase(m)
		checks = append(checks, namedCheck{"minion-" + m.ID, func(ctx context.Context) (string, error) {
			u, err := url.Parse(base)
			if err != nil || u.Host == "" {
				return "", fmt.Errorf("minion %q has no usable address", m.ID)
			}
			if err := s.targets.check(ctx, targetKubelet, fmt.Sprintf("minion %q", m.ID), u.Host); err != nil {
				return "", err
			}
			return s.getHealthz(withTargetKind(ctx, targetKubelet), base)
		}})
	}
	out := make([]ComponentStatus, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(r.Context(), s.cfg.CheckTimeout)
			defer cancel()
			msg, err := c.check(ctx)
			st := ComponentStatus{Component: c.name, Health: "healthy", HealthCode: Healthy, Msg: msg}
			if err != nil {
				st.Health, st.HealthCode, st.Err = "unhealthy", Unhealthy, err.Error()
			}
			out[i] = st
		}()
	}
	wg.Wait()
	writeJSON(w, http.StatusOK, out)
}

// getHealthz GETs base/healthz: a 200 is healthy. What the target answered
// is never shown (only its status code): /validate must not reflect
// whatever an address serves.
func (s *Server) getHealthz(ctx context.Context, base string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return "", err
	}
	resp, err := s.transport.RoundTrip(req)
	if err != nil {
		return "", fmt.Errorf("reach kubelet %s: %w", base, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1024))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("kubelet %s/healthz answered %d %s", base, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return "ok", nil
}

// noteKey carries, in a check's context, where it may leave a note for
// its line of ?verbose.
type noteKey struct{}

// WithNote makes a HealthCheck of a check that also says something when it
// passes (who leads): ?verbose prints it after ok, as
// "[+]leader ok (leader: m1 10.0.0.1:8080, this master: yes)".
func WithNote(check func(ctx context.Context) (string, error)) HealthCheck {
	return func(ctx context.Context) error {
		note, err := check(ctx)
		if p, ok := ctx.Value(noteKey{}).(*string); ok && err == nil {
			*p = note
		}
		return err
	}
}

// serveProbe answers /livez (no checks: the process serves) and /readyz
// and /healthz (every HealthCheck, run at once, each within CheckTimeout),
// as Kubernetes does: 200 "ok" or 503 naming what failed; ?verbose lists
// every check as [+]name ok or [-]name failed: why.
func (s *Server) serveProbe(w http.ResponseWriter, r *http.Request, what string, checks map[string]HealthCheck) {
	names := make([]string, 0, len(checks)+1)
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	errs := make([]error, len(names))
	notes := make([]string, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.WithValue(r.Context(), noteKey{}, &notes[i]), s.cfg.CheckTimeout)
			defer cancel()
			errs[i] = checks[n](ctx)
		}()
	}
	wg.Wait()
	var b strings.Builder
	failed := 0
	fmt.Fprintf(&b, "[+]ping ok\n")
	for i, n := range names {
		if errs[i] != nil {
			failed++
			fmt.Fprintf(&b, "[-]%s failed: %v\n", n, errs[i])
		} else if notes[i] != "" {
			fmt.Fprintf(&b, "[+]%s ok (%s)\n", n, notes[i])
		} else {
			fmt.Fprintf(&b, "[+]%s ok\n", n)
		}
	}
	code, verdict := http.StatusOK, "passed"
	if failed > 0 {
		code, verdict = http.StatusServiceUnavailable, "failed"
	}
	fmt.Fprintf(&b, "%s check %s\n", what, verdict)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	if _, verbose := r.URL.Query()["verbose"]; verbose || failed > 0 {
		_, _ = io.WriteString(w, b.String())
		return
	}
	_, _ = io.WriteString(w, "ok")
}
