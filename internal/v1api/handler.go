package v1api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kubelite/internal/api"
	"kubelite/internal/logging"
	"kubelite/internal/store"
)

// DefaultMaxBodyBytes bounds request bodies (413 above it), as the v1beta1 API.
const DefaultMaxBodyBytes = 3 << 20

// Config is what a Handler needs.
type Config struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log *logrus.Entry
	// Store is served; required. The same store as the v1beta1 API's (the
	// registry in a master), so both dialects see the same objects.
	Store store.Store
	// Version answers /version's fields in discovery and the nodes' kubelet
	// version column.
	Version api.ServerVersion
	// Legacy is the v1beta1 API's handler, past authentication: pods/log
	// goes through its proxy to the pod's kubelet
	// (/api/v1beta1/proxy/minions/<node>/containerLogs/...).
	Legacy http.Handler
	// Admit checks a write by the request's user against the stored object
	// and returns what to store (the v1beta1 API's minion rules); nil admits
	// everything.
	Admit func(r *http.Request, res api.Resource, obj api.Object) (api.Object, error)
	// MaxBodyBytes bounds request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Now is the clock of tables' AGE columns; nil means time.Now.
	Now func() time.Time
}

// Handler serves /api (the versions), /api/v1, /apis and /openapi.
type Handler struct {
	cfg   Config
	log   *logrus.Entry
	pages *snapshots // paged lists' snapshots (paging.go)
}

// New returns the handler; cfg.Store is required.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("v1api: no store")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, log: logging.OrDiscard(cfg.Log), pages: newSnapshots(cfg.Now)}, nil
}

// Owns reports whether path is served by this package rather than the
// v1beta1 router: /api itself, /api/v1..., /apis... and /openapi/....
func Owns(p string) bool {
	switch strings.TrimSuffix(p, "/") {
	case "/api", "/apis", "/api/v1", "/openapi":
		return true
	}
	return strings.HasPrefix(p, "/api/v1/") ||
		strings.HasPrefix(p, "/apis/") || strings.HasPrefix(p, "/openapi/")
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/api" || p == "/api/":
		if onlyGET(w, r) {
			h.serveVersions(w, r)
		}
		return
	case p == "/api/v1" || p == "/api/v1/":
		if onlyGET(w, r) {
			writeJSON(w, http.StatusOK, resourceList())
		}
		return
	case p == "/apis" || p == "/apis/":
		if onlyGET(w, r) {
			writeJSON(w, http.StatusOK, &metav1.APIGroupList{
				TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{},
			})
		}
		return
	case strings.HasPrefix(p, "/openapi/"):
		if onlyGET(w, r) {
			h.serveOpenAPI(w, r)
		}
		return
	}
	req, ok := ParseRequest(r.Method, p, r.URL.Query())
	if !ok {
		notFound(w, r)
		return
	}
	if req.kind.res == "" {
		h.serveNamespaces(w, r, req)
		return
	}
	switch req.Verb {
	case "list":
		h.serveList(w, r, req)
	case "watch":
		h.serveWatch(w, r, req)
	case "get":
		switch req.Subresource {
		case "scale":
			h.serveScaleGet(w, r, req)
		default:
			h.serveGet(w, r, req)
		}
	case "proxy":
		h.serveLog(w, r, req)
	case "create":
		if req.Name != "" {
			methodNotAllowed(w, r)
			return
		}
		h.serveCreate(w, r, req)
	case "update":
		if req.Name == "" {
			methodNotAllowed(w, r)
			return
		}
		if req.Subresource == "scale" {
			h.serveScaleUpdate(w, r, req, nil)
			return
		}
		h.serveUpdate(w, r, req)
	case "patch":
		if req.Name == "" || req.Subresource == "log" {
			methodNotAllowed(w, r)
			return
		}
		if req.Subresource == "scale" {
			h.serveScalePatch(w, r, req)
			return
		}
		h.servePatch(w, r, req)
	case "delete":
		if req.Subresource != "" {
			methodNotAllowed(w, r)
			return
		}
		h.serveDelete(w, r, req)
	case "deletecollection":
		h.serveDeleteCollection(w, r, req)
	default:
		methodNotAllowed(w, r)
	}
}

func (h *Handler) serveVersions(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	writeJSON(w, http.StatusOK, &metav1.APIVersions{
		TypeMeta: metav1.TypeMeta{Kind: "APIVersions"},
		// Only v1: today's clients discover every version /api lists (at
		// /apis/<version> for those but v1) and fail on one they cannot
		// read; v1beta1 and v1beta2 stay where they were, undiscovered, as
		// in v0.6 (whose clients never read /api).
		Versions:                   []string{"v1"},
		ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: host}},
	})
}

// resourceList is the discovery document of /api/v1.
func resourceList() *metav1.APIResourceList {
	l := &metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "v1"}
	for _, k := range kinds {
		l.APIResources = append(l.APIResources, metav1.APIResource{
			Name: k.name, SingularName: k.singular, Namespaced: k.namespaced, Kind: k.kind,
			Verbs: k.verbs(), ShortNames: k.shortNames, Categories: categories(k),
		})
		for _, sub := range sortedKeys(k.subresources) {
			s := k.subresources[sub]
			kd := s.kind
			if kd == "" {
				kd = k.kind
			}
			l.APIResources = append(l.APIResources, metav1.APIResource{
				Name: k.name + "/" + sub, Namespaced: k.namespaced, Kind: kd, Group: s.group, Version: s.version,
				Verbs: s.verbs,
			})
		}
	}
	return l
}

// categories puts the workload kinds in "all" (kubectl get all).
func categories(k *kind) []string {
	switch k.name {
	case "pods", "replicationcontrollers", "services":
		return []string{"all"}
	}
	return nil
}

// ---- reads ----

// get reads the object a request names (ParseRequest guarantees a
// namespaced one comes with its namespace).
func (h *Handler) get(ctx context.Context, req Request) (api.Object, error) {
	return h.cfg.Store.Get(ctx, req.InternalResource, req.Namespace, req.Name)
}

func (h *Handler) serveGet(w http.ResponseWriter, r *http.Request, req Request) {
	obj, err := h.get(r.Context(), req)
	if err != nil {
		writeError(w, req, err)
		return
	}
	v1 := req.kind.toV1(obj)
	h.writeObject(w, r, req, http.StatusOK, v1)
}

// writeObject answers one object, as a Table or metadata when asked.
func (h *Handler) writeObject(w http.ResponseWriter, r *http.Request, req Request, code int, obj runtime.Object) {
	switch as := wantAs(r); as {
	case asTable:
		writeJSON(w, code, buildTable(req.kind, []runtime.Object{obj}, objectMeta(obj).ResourceVersion, includeOf(r), h.tableContext(r.Context()), true))
	case asMetadata:
		writeJSON(w, code, partialMetadata(obj))
	default:
		writeJSON(w, code, obj)
	}
}

func (h *Handler) tableContext(ctx context.Context) *tableContext {
	c := &tableContext{now: h.cfg.Now(), version: h.cfg.Version.GitVersion}
	c.readyPods = func(ns string, sel map[string]string) int {
		objs, _, err := h.cfg.Store.List(ctx, api.Pods, store.ListOptions{Namespace: ns, Labels: api.SelectorFromSet(sel)})
		if err != nil {
			return 0
		}
		n := 0
		for _, o := range objs {
			p := PodToV1(o.(*api.Pod))
			if len(p.Status.ContainerStatuses) == 0 {
				continue
			}
			ready := true
			for _, cs := range p.Status.ContainerStatuses {
				ready = ready && cs.Ready
			}
			if ready {
				n++
			}
		}
		return n
	}
	return c
}

func (h *Handler) serveList(w http.ResponseWriter, r *http.Request, req Request) {
	sel, err := parseSelectors(req.kind, r.URL.Query())
	if err != nil {
		writeError(w, req, err)
		return
	}
	pg, err := parsePage(r.URL.Query())
	if err != nil {
		writeError(w, req, err)
		return
	}
	if pg.token != nil {
		out, err := h.continued(r, pg)
		if err != nil {
			writeError(w, req, err)
			return
		}
		h.writeList(w, r, req, out.items, out.meta)
		return
	}
	objs, rev, err := h.cfg.Store.List(r.Context(), req.InternalResource, sel.storeOptions(req.Namespace))
	if err != nil {
		writeError(w, req, err)
		return
	}
	items := make([]runtime.Object, 0, len(objs))
	for _, o := range objs {
		v := req.kind.toV1(o)
		if sel.matches(req.kind, v) {
			items = append(items, v)
		}
	}
	out := h.first(r, pg, items, rev)
	h.writeList(w, r, req, out.items, out.meta)
}

// list is any v1 list: kind <Kind>List, the items as they are.
type list struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []runtime.Object `json:"items"`
}

// writeList writes items with the list's metadata lm (resourceVersion, and
// continue for a page of a longer list).
func (h *Handler) writeList(w http.ResponseWriter, r *http.Request, req Request, items []runtime.Object, lm metav1.ListMeta) {
	switch wantAs(r) {
	case asTable:
		t := buildTable(req.kind, items, lm.ResourceVersion, includeOf(r), h.tableContext(r.Context()), true)
		t.ListMeta = lm
		writeJSON(w, http.StatusOK, t)
	case asMetadata:
		l := &list{TypeMeta: metav1.TypeMeta{Kind: "PartialObjectMetadataList", APIVersion: "meta.k8s.io/v1"}, ListMeta: lm}
		for _, it := range items {
			l.Items = append(l.Items, partialMetadata(it))
		}
		if l.Items == nil {
			l.Items = []runtime.Object{}
		}
		writeJSON(w, http.StatusOK, l)
	default:
		writeJSON(w, http.StatusOK, &list{
			TypeMeta: metav1.TypeMeta{Kind: req.kind.kind + "List", APIVersion: "v1"},
			ListMeta: lm, Items: items,
		})
	}
}

// ---- writes ----

// dryRun reports ?dryRun=All (the only value Kubernetes knows).
func dryRun(r *http.Request) (bool, error) {
	vals := r.URL.Query()["dryRun"]
	for _, v := range vals {
		if v != "All" {
			return false, badRequest(fmt.Sprintf("invalid dryRun %q: want All", v))
		}
	}
	return len(vals) > 0, nil
}

// checkDry validates what a dry run would store: defaults and validation
// as the registry applies them.
func checkDry(obj api.Object) error {
	c := api.Copy(obj)
	if c.Meta().ID == "" && c.Meta().GenerateName != "" {
		c.Meta().ID = c.Meta().GenerateName + "dryrun"
	}
	api.SetDefaults(c)
	if causes := api.Validate(c); len(causes) > 0 {
		return api.NewInvalid(c.Meta().Kind, c.Meta().ID, causes)
	}
	return nil
}

func (h *Handler) admit(r *http.Request, res api.Resource, obj api.Object) (api.Object, error) {
	if h.cfg.Admit == nil {
		return obj, nil
	}
	return h.cfg.Admit(r, res, obj)
}

// reconcileNamespace fills a body's namespace from the URL, refusing a
// different one.
func reconcileNamespace(req Request, obj api.Object) error {
	m := obj.Meta()
	if !req.kind.namespaced {
		m.Namespace = ""
		return nil
	}
	ns := req.Namespace
	switch {
	case m.Namespace == "" && ns == "":
		m.Namespace = api.DefaultNamespace
	case m.Namespace == "":
		m.Namespace = ns
	case ns != "" && m.Namespace != ns:
		return badRequest(fmt.Sprintf("the namespace of the provided object (%s) does not match the namespace sent on the request (%s)", m.Namespace, ns))
	}
	return nil
}

func (h *Handler) serveCreate(w http.ResponseWriter, r *http.Request, req Request) {
	in, warnings, err := h.decodeBody(w, r, req.kind)
	if err != nil {
		writeError(w, req, err)
		return
	}
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, req, err)
		return
	}
	obj, err := req.kind.fromV1(in, nil)
	if err != nil {
		writeError(w, req, err)
		return
	}
	m := obj.Meta()
	m.ResourceVersion, m.UID = 0, ""
	if err := reconcileNamespace(req, obj); err != nil {
		writeError(w, req, err)
		return
	}
	if obj, err = h.admit(r, req.InternalResource, obj); err != nil {
		writeError(w, req, err)
		return
	}
	setWarnings(w, warnings)
	if dry {
		if err := checkDry(obj); err != nil {
			writeError(w, req, err)
			return
		}
		h.writeObject(w, r, req, http.StatusCreated, req.kind.toV1(obj))
		return
	}
	out, err := h.cfg.Store.Create(r.Context(), obj)
	if err != nil {
		writeError(w, req, err)
		return
	}
	h.writeObject(w, r, req, http.StatusCreated, req.kind.toV1(out))
}

func (h *Handler) serveUpdate(w http.ResponseWriter, r *http.Request, req Request) {
	in, warnings, err := h.decodeBody(w, r, req.kind)
	if err != nil {
		writeError(w, req, err)
		return
	}
	setWarnings(w, warnings)
	h.update(w, r, req, in)
}

// update stores in (a v1 object) over the stored object of req.
func (h *Handler) update(w http.ResponseWriter, r *http.Request, req Request, in runtime.Object) {
	dry, err := dryRun(r)
	if err != nil {
		writeError(w, req, err)
		return
	}
	cur, err := h.get(r.Context(), req)
	if err != nil {
		writeError(w, req, err)
		return
	}
	om := objectMeta(in)
	if om.Name == "" {
		om.Name = req.Name
	}
	if om.Name != req.Name {
		writeError(w, req, badRequest(fmt.Sprintf("the name of the object (%s) does not match the name on the URL (%s)", om.Name, req.Name)))
		return
	}
	out, err := h.store(r, req, in, cur, dry)
	if err != nil {
		writeError(w, req, err)
		return
	}
	h.writeObject(w, r, req, http.StatusOK, out)
}

// store converts in over cur, admits it and updates it (or only checks it
// on a dry run), returning the v1 form of what was stored.
func (h *Handler) store(r *http.Request, req Request, in runtime.Object, cur api.Object, dry bool) (runtime.Object, error) {
	obj, err := req.kind.fromV1(in, cur)
	if err != nil {
		return nil, err
	}
	if err := reconcileNamespace(req, obj); err != nil {
		return nil, err
	}
	if obj, err = h.admit(r, req.InternalResource, obj); err != nil {
		return nil, err
	}
	if dry {
		if err := checkDry(obj); err != nil {
			return nil, err
		}
		return req.kind.toV1(obj), nil
	}
	out, err := h.cfg.Store.Update(r.Context(), obj)
	if err != nil {
		return nil, err
	}
	return req.kind.toV1(out), nil
}

// deleteOptions reads DeleteOptions from the body (kubectl) or the query.
func deleteOptions(r *http.Request, max int64) (metav1.DeleteOptions, error) {
	var opts metav1.DeleteOptions
	if r.Body != nil && r.ContentLength != 0 {
		data, err := readBody(nil, r, max)
		if err != nil {
			return opts, err
		}
		switch {
		case len(strings.TrimSpace(string(data))) == 0:
		case isProtobuf(r):
			if err := fromProtobuf(data, &opts); err != nil {
				return opts, err
			}
		default:
			if err := json.Unmarshal(data, &opts); err != nil {
				return opts, badRequest("DeleteOptions: " + err.Error())
			}
		}
	}
	q := r.URL.Query()
	if v := q.Get("propagationPolicy"); v != "" {
		p := metav1.DeletionPropagation(v)
		opts.PropagationPolicy = &p
	}
	if v := q.Get("orphanDependents"); v != "" {
		b, _ := strconv.ParseBool(v)
		opts.OrphanDependents = &b
	}
	opts.DryRun = append(opts.DryRun, q["dryRun"]...)
	for _, v := range opts.DryRun {
		if v != "All" {
			return opts, badRequest(fmt.Sprintf("invalid dryRun %q: want All", v))
		}
	}
	if p := opts.PropagationPolicy; p != nil {
		switch *p {
		case metav1.DeletePropagationBackground, metav1.DeletePropagationForeground, metav1.DeletePropagationOrphan:
		default:
			return opts, badRequest(fmt.Sprintf("invalid propagationPolicy %q: want Background, Foreground or Orphan", *p))
		}
	}
	return opts, nil
}

// orphans reports whether deleting with opts keeps an RC's pods: Orphan
// (or orphanDependents) does, as v1beta1 always did; Background,
// Foreground and nothing (v1's default for RCs) delete them.
func orphans(opts metav1.DeleteOptions) bool {
	if opts.PropagationPolicy != nil {
		return *opts.PropagationPolicy == metav1.DeletePropagationOrphan
	}
	return opts.OrphanDependents != nil && *opts.OrphanDependents
}

func (h *Handler) serveDelete(w http.ResponseWriter, r *http.Request, req Request) {
	opts, err := deleteOptions(r, h.cfg.MaxBodyBytes)
	if err != nil {
		writeError(w, req, err)
		return
	}
	ctx := r.Context()
	cur, err := h.get(ctx, req)
	if err != nil {
		writeError(w, req, err)
		return
	}
	if pre := opts.Preconditions; pre != nil {
		m := cur.Meta()
		if pre.UID != nil && string(*pre.UID) != m.UID {
			writeError(w, req, api.NewConflict(req.kind.kind, req.Name, fmt.Sprintf("precondition failed: uid is %s, not %s", m.UID, *pre.UID)))
			return
		}
		if pre.ResourceVersion != nil && *pre.ResourceVersion != strconv.FormatUint(m.ResourceVersion, 10) {
			writeError(w, req, api.NewConflict(req.kind.kind, req.Name, fmt.Sprintf("precondition failed: resourceVersion is %d, not %s", m.ResourceVersion, *pre.ResourceVersion)))
			return
		}
	}
	if len(opts.DryRun) > 0 {
		h.writeObject(w, r, req, http.StatusOK, req.kind.toV1(cur))
		return
	}
	if err := h.delete(ctx, req, cur, opts); err != nil {
		writeError(w, req, err)
		return
	}
	h.writeObject(w, r, req, http.StatusOK, req.kind.toV1(cur))
}

// delete deletes cur and, for an RC not orphaning, the pods it selects
// (after the RC, so the replication manager does not replace them).
func (h *Handler) delete(ctx context.Context, req Request, cur api.Object, opts metav1.DeleteOptions) error {
	m := cur.Meta()
	if _, err := h.cfg.Store.Delete(ctx, req.InternalResource, m.Namespace, m.ID); err != nil {
		return err
	}
	rc, ok := cur.(*api.ReplicationController)
	if !ok || orphans(opts) || len(rc.DesiredState.ReplicaSelector) == 0 {
		return nil
	}
	pods, _, err := h.cfg.Store.List(ctx, api.Pods, store.ListOptions{Namespace: rc.Namespace, Labels: api.SelectorFromSet(rc.DesiredState.ReplicaSelector)})
	if err != nil {
		return fmt.Errorf("list the pods of rc %s: %w", rc.ID, err)
	}
	for _, p := range pods {
		if _, err := h.cfg.Store.Delete(ctx, api.Pods, p.Meta().Namespace, p.Meta().ID); err != nil && !api.IsNotFound(err) {
			return fmt.Errorf("delete pod %s of rc %s: %w", p.Meta().ID, rc.ID, err)
		}
	}
	return nil
}

func (h *Handler) serveDeleteCollection(w http.ResponseWriter, r *http.Request, req Request) {
	opts, err := deleteOptions(r, h.cfg.MaxBodyBytes)
	if err != nil {
		writeError(w, req, err)
		return
	}
	sel, err := parseSelectors(req.kind, r.URL.Query())
	if err != nil {
		writeError(w, req, err)
		return
	}
	ctx := r.Context()
	objs, rev, err := h.cfg.Store.List(ctx, req.InternalResource, sel.storeOptions(req.Namespace))
	if err != nil {
		writeError(w, req, err)
		return
	}
	var items []runtime.Object
	for _, o := range objs {
		v := req.kind.toV1(o)
		if !sel.matches(req.kind, v) {
			continue
		}
		if len(opts.DryRun) == 0 {
			if err := h.delete(ctx, req, o, opts); err != nil && !api.IsNotFound(err) {
				writeError(w, req, err)
				return
			}
		}
		items = append(items, v)
	}
	if items == nil {
		items = []runtime.Object{}
	}
	h.writeList(w, r, req, items, metav1.ListMeta{ResourceVersion: strconv.FormatUint(rev, 10)})
}

// ---- pods/log ----

// serveLog streams a container's log through the v1beta1 proxy to the
// pod's kubelet (/containerLogs/<ns>/<pod>/<container>).
func (h *Handler) serveLog(w http.ResponseWriter, r *http.Request, req Request) {
	obj, err := h.get(r.Context(), req)
	if err != nil {
		writeError(w, req, err)
		return
	}
	p := obj.(*api.Pod)
	q := r.URL.Query()
	container := q.Get("container")
	cs := p.DesiredState.Manifest.Containers
	switch {
	case container == "" && len(cs) == 1:
		container = cs[0].Name
	case container == "":
		names := make([]string, len(cs))
		for i, c := range cs {
			names[i] = c.Name
		}
		writeError(w, req, badRequest(fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", p.ID, names)))
		return
	}
	found := false
	for _, c := range cs {
		found = found || c.Name == container
	}
	if !found {
		writeError(w, req, badRequest(fmt.Sprintf("container %s is not valid for pod %s", container, p.ID)))
		return
	}
	host := p.DesiredState.Host
	if host == "" {
		writeError(w, req, badRequest(fmt.Sprintf("pod %s is not scheduled yet: no logs", p.ID)))
		return
	}
	if h.cfg.Legacy == nil {
		writeError(w, req, api.NewUnavailable("logs are not available: no kubelet proxy"))
		return
	}
	lq := url.Values{}
	if b, _ := strconv.ParseBool(q.Get("follow")); b {
		lq.Set("follow", "true")
	}
	if t := q.Get("tailLines"); t != "" {
		if _, err := strconv.Atoi(t); err != nil {
			writeError(w, req, badRequest(fmt.Sprintf("invalid tailLines %q", t)))
			return
		}
		lq.Set("tail", t)
	}
	out := r.Clone(r.Context())
	out.Method = http.MethodGet
	out.URL = &url.URL{
		Path:     "/api/v1beta1/proxy/minions/" + host + "/containerLogs/" + p.Namespace + "/" + p.ID + "/" + container,
		RawQuery: lq.Encode(),
	}
	out.RequestURI = out.URL.RequestURI()
	h.cfg.Legacy.ServeHTTP(w, out)
}

// ---- namespaces (synthetic, read-only) ----

// builtinNamespaces always exist; others exist while objects live in them.
var builtinNamespaces = []string{api.DefaultNamespace, "kube-system"}

func namespaceObject(name string) *corev1.Namespace {
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{Kind: "Namespace", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/metadata.name": name}},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
}

// namespaces lists the builtin namespaces and those objects live in.
func (h *Handler) namespaces(ctx context.Context) ([]string, uint64, error) {
	seen := map[string]bool{}
	out := append([]string(nil), builtinNamespaces...)
	for _, n := range out {
		seen[n] = true
	}
	var rev uint64
	for _, res := range []api.Resource{api.Pods, api.ReplicationControllers, api.Services, api.Events} {
		objs, r, err := h.cfg.Store.List(ctx, res, store.ListOptions{})
		if err != nil {
			return nil, 0, err
		}
		rev = max(rev, r)
		for _, o := range objs {
			if ns := o.Meta().Namespace; ns != "" && !seen[ns] {
				seen[ns] = true
				out = append(out, ns)
			}
		}
	}
	return out, rev, nil
}

func (h *Handler) serveNamespaces(w http.ResponseWriter, r *http.Request, req Request) {
	switch req.Verb {
	case "get", "list", "watch":
	default:
		writeError(w, req, &api.StatusError{Status: api.Status{
			Code: http.StatusMethodNotAllowed, Reason: api.ReasonMethodNotAllowed,
			Message: "kubelite's namespaces are implicit (default, kube-system, and any an object names): they cannot be " + req.Verb + "d",
		}})
		return
	}
	names, rev, err := h.namespaces(r.Context())
	if err != nil {
		writeError(w, req, err)
		return
	}
	sel, err := parseSelectors(req.kind, r.URL.Query())
	if err != nil {
		writeError(w, req, err)
		return
	}
	var items []runtime.Object
	for _, n := range names {
		o := namespaceObject(n)
		if (req.Name == "" || req.Name == n) && sel.matches(req.kind, o) {
			items = append(items, o)
		}
	}
	switch req.Verb {
	case "get":
		if len(items) == 0 {
			writeError(w, req, api.NewNotFound("Namespace", req.Name))
			return
		}
		h.writeObject(w, r, req, http.StatusOK, items[0])
	case "list":
		if items == nil {
			items = []runtime.Object{}
		}
		pg, err := parsePage(r.URL.Query())
		if err != nil {
			writeError(w, req, err)
			return
		}
		out := h.first(r, pg, items, rev)
		if pg.token != nil {
			if out, err = h.continued(r, pg); err != nil {
				writeError(w, req, err)
				return
			}
		}
		h.writeList(w, r, req, out.items, out.meta)
	case "watch":
		// Namespaces do not change: the current ones, then silence.
		h.streamStatic(w, r, req, items, strconv.FormatUint(rev, 10))
	}
}
