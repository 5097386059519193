package kubelet

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/auth"
	"kubelite/internal/httpserve"
	"kubelite/internal/metrics"
	"kubelite/internal/runtime"
)

// Handler serves the kubelet's HTTP API:
//
//	/livez                                      "ok" while the process serves
//	/readyz, /healthz                           "ok" when the engine answers and the pod cache
//	                                            has listed; 503 naming the failed check
//	                                            (?verbose lists every check)
//	/metrics                                    Prometheus text (internal/metrics)
//	/podInfo?podID=&podNamespace=               api.PodInfo of the pod (JSON: an object by container name)
//	/containerLogs/<ns>/<pod>/<container>       logs (?tail=N, ?follow=true)
//	/stats/                                     every running container's usage
//	/stats/<ns>/<pod>/<container>               one container's usage
func (k *Kubelet) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) {
		serveProbe(w, r, "livez", nil)
	})
	ready := func(w http.ResponseWriter, r *http.Request) { serveProbe(w, r, "readyz", k.readyChecks()) }
	mux.HandleFunc("/healthz", ready)
	mux.HandleFunc("/readyz", ready)
	mux.Handle("/metrics", metrics.Handler())
	mux.HandleFunc("/podInfo", k.servePodInfo)
	mux.HandleFunc("/containerLogs/", k.serveLogs)
	mux.HandleFunc("/stats/", k.serveStats)
	return mux
}

func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	http.Error(w, fmt.Sprintf(format, args...), code)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (k *Kubelet) servePodInfo(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("podID")
	ns := r.URL.Query().Get("podNamespace")
	if ns == "" {
		ns = api.DefaultNamespace
	}
	if id == "" {
		httpError(w, http.StatusBadRequest, "podID is required")
		return
	}
	pod := k.podFromCache(ns + "/" + id)
	if pod == nil {
		httpError(w, http.StatusNotFound, "pod %s/%s is not bound to minion %s", ns, id, k.cfg.NodeName)
		return
	}
	cs, err := k.list(r.Context(), runtime.ListOptions{PodUID: pod.UID})
	if err != nil {
		httpError(w, http.StatusInternalServerError, "list containers: %v", err)
		return
	}
	k.mu.Lock()
	waiting := cloneMap(k.waiting[api.Key(pod)])
	k.mu.Unlock()
	st := PodStatus(StatusInput{Pod: pod, Containers: cs, Waiting: waiting, Host: k.cfg.NodeName, HostIP: k.cfg.HostIP})
	writeJSON(w, st.Info)
}

// newestContainer finds the newest container named name of pod ns/id.
func (k *Kubelet) newestContainer(ctx context.Context, ns, id, name string) (runtime.Container, error) {
	cs, err := k.list(ctx, runtime.ListOptions{Labels: map[string]string{
		runtime.LabelPodNamespace: ns, runtime.LabelPodName: id, runtime.LabelContainerName: name,
	}})
	if err != nil {
		return runtime.Container{}, err
	}
	if len(cs) == 0 {
		return runtime.Container{}, fmt.Errorf("pod %s/%s has no container %q on minion %s: %w", ns, id, name, k.cfg.NodeName, runtime.ErrNotFound)
	}
	byNewest(cs)
	return cs[0], nil
}

// pathParts splits /prefix/<ns>/<pod>/<container>.
func pathParts(path, prefix string) (ns, pod, container string, ok bool) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, prefix), "/"), "/")
	switch len(parts) {
	case 3:
		return parts[0], parts[1], parts[2], parts[0] != "" && parts[1] != "" && parts[2] != ""
	case 2: // <pod>/<container> in the default namespace
		return api.DefaultNamespace, parts[0], parts[1], parts[0] != "" && parts[1] != ""
	}
	return "", "", "", false
}

type flushWriter struct {
	w http.ResponseWriter
	f http.Flusher
}

func (fw flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	if fw.f != nil {
		fw.f.Flush()
	}
	return n, err
}

func (k *Kubelet) serveLogs(w http.ResponseWriter, r *http.Request) {
	ns, id, name, ok := pathParts(r.URL.Path, "/containerLogs/")
	if !ok {
		httpError(w, http.StatusBadRequest, "want /containerLogs/<namespace>/<pod>/<container>")
		return
	}
	if name == InfraStatusName {
		name = InfraName
	}
	q := r.URL.Query()
	opts := runtime.LogOptions{}
	if t := q.Get("tail"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			httpError(w, http.StatusBadRequest, "tail %q: want a number of lines", t)
			return
		}
		opts.Tail = n
	}
	opts.Follow, _ = strconv.ParseBool(q.Get("follow"))
	c, err := k.newestContainer(r.Context(), ns, id, name)
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, runtime.ErrNotFound) {
			code = http.StatusNotFound
		}
		httpError(w, code, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	f, _ := w.(http.Flusher)
	if err := k.cfg.Runtime.Logs(r.Context(), c.ID, opts, flushWriter{w, f}); err != nil && r.Context().Err() == nil {
		k.log.WithError(err).Debug("serve logs")
	}
}

// ContainerStats is one entry of /stats/.
type ContainerStats struct {
	Namespace string        `json:"namespace"`
	Pod       string        `json:"pod"`
	Container string        `json:"container"`
	Stats     runtime.Stats `json:"stats"`
}

func (k *Kubelet) serveStats(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, "/stats/"), "/")
	if rest != "" {
		ns, id, name, ok := pathParts(r.URL.Path, "/stats/")
		if !ok {
			httpError(w, http.StatusBadRequest, "want /stats/ or /stats/<namespace>/<pod>/<container>")
			return
		}
		c, err := k.newestContainer(r.Context(), ns, id, name)
		if err != nil {
			httpError(w, http.StatusNotFound, "%v", err)
			return
		}
		s, err := k.cfg.Runtime.Stats(r.Context(), c.ID)
		if err != nil {
			httpError(w, http.StatusInternalServerError, "%v", err)
			return
		}
		writeJSON(w, ContainerStats{Namespace: ns, Pod: id, Container: name, Stats: s})
		return
	}
	cs, err := k.list(r.Context(), runtime.ListOptions{Running: true})
	if err != nil {
		httpError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	out := []ContainerStats{}
	for _, c := range cs {
		s, err := k.cfg.Runtime.Stats(r.Context(), c.ID)
		if err != nil {
			continue // stopped meanwhile
		}
		out = append(out, ContainerStats{Namespace: c.Labels[runtime.LabelPodNamespace], Pod: c.Labels[runtime.LabelPodName], Container: c.Labels[runtime.LabelContainerName], Stats: s})
	}
	writeJSON(w, out)
}

// Server is the kubelet's HTTP server as a component.
//
// With TLS and Authn nil (--insecure) it serves plain HTTP to anyone, as in
// 2014. Secure: TLS serves HTTPS with the minion's joined certificate
// (httpserve.ServerTLS), and Authn makes every path except /healthz answer only the
// master (auth.MasterUser) or an admin: 401 for a request without a
// credential or with a wrong one, 403 for any other user (another minion).
type Server struct {
	K     *Kubelet
	Addr  string              // e.g. "0.0.0.0:10250"
	TLS   *tls.Config         // nil: plain HTTP
	Authn *auth.Authenticator // nil: no authentication
}

// Name implements component.Component.
func (s Server) Name() string { return "kubelet-http" }

// Handler is the kubelet's API behind Authn (when set).
func (s Server) Handler() http.Handler {
	h := s.K.Handler()
	if s.Authn == nil {
		return h
	}
	return RequireMaster(s.Authn, h, s.K.log)
}

// RequireMaster lets the probes (/healthz, /livez, /readyz: what they say
// is not secret, as in Kubernetes) through and every other request only when
// authn says it comes from auth.MasterUser, auth.Admin or a member of
// auth.AdminsGroup: 401 with one line without a credential or with a wrong
// one, 403 for another user.
func RequireMaster(authn *auth.Authenticator, next http.Handler, log *logrus.Entry) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Path; p == "/healthz" || p == "/livez" || p == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		u, ok, err := authn.Authenticate(r)
		switch {
		case err != nil:
			httpError(w, http.StatusUnauthorized, "kubelet: credential refused: %s", oneLine(err.Error()))
			return
		case !ok:
			httpError(w, http.StatusUnauthorized, "kubelet: anonymous requests are refused: this port answers the master (a client certificate of the cluster CA)")
			return
		case !mayUseKubelet(u):
			log.WithField("user", u.Name).WithField("path", r.URL.Path).Debug("kubelet API refused")
			httpError(w, http.StatusForbidden, "kubelet: user %q may not use the kubelet API (only %s and %s)", u.Name, auth.MasterUser, auth.Admin)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func mayUseKubelet(u auth.User) bool {
	return u.Name == auth.MasterUser || u.Name == auth.Admin || u.InGroup(auth.AdminsGroup)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Run serves until ctx ends; started is called once listening.
func (s Server) Run(ctx context.Context, started func()) error {
	if s.TLS != nil && len(s.TLS.Certificates) == 0 && s.TLS.GetCertificate == nil {
		return fmt.Errorf("kubelet https %s: no serving certificate", s.Addr)
	}
	srv, err := httpserve.Listen(httpserve.Config{Name: "kubelet", Addr: s.Addr, Handler: s.Handler(), TLS: s.TLS, Log: s.K.log})
	if err != nil {
		return fmt.Errorf("kubelet http listen %s: %w", s.Addr, err)
	}
	if started != nil {
		started()
	}
	return srv.Serve(ctx)
}
