package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync"

	"kubelite/internal/api"
	"kubelite/internal/store"
)

// requestNamespace returns the namespace of a request: ?namespace=X, or
// "default" when absent. explicit says the parameter was given (possibly
// empty, meaning all namespaces on list and watch).
func requestNamespace(r *http.Request, res api.Resource) (ns string, explicit bool) {
	if !res.Namespaced() {
		return "", false
	}
	vals, ok := r.URL.Query()["namespace"]
	if !ok || len(vals) == 0 {
		return api.DefaultNamespace, false
	}
	return vals[0], true
}

// listOptions parses ?namespace= ?labels= ?fields= (and ?resourceVersion=
// when watch) into store.ListOptions; bad values are 400s.
func listOptions(r *http.Request, res api.Resource, watch bool) (store.ListOptions, error) {
	var opts store.ListOptions
	opts.Namespace, _ = requestNamespace(r, res)
	q := r.URL.Query()
	var err error
	if opts.Labels, err = api.ParseSelector(q.Get("labels")); err != nil {
		return opts, badRequest("invalid label selector: " + err.Error())
	}
	if opts.Fields, err = api.ParseSelector(q.Get("fields")); err != nil {
		return opts, badRequest("invalid field selector: " + err.Error())
	}
	if err := api.ValidateFieldSelector(res, opts.Fields); err != nil {
		return opts, badRequest("invalid field selector: " + err.Error())
	}
	if watch {
		if v := q.Get("resourceVersion"); v != "" {
			// Revisions are etcd's int64: anything from 2^63-1 up could
			// never be reached and would overflow the "watch from rv+1".
			if opts.ResourceVersion, err = strconv.ParseUint(v, 10, 64); err != nil || opts.ResourceVersion >= math.MaxInt64 {
				return opts, badRequest(fmt.Sprintf("invalid resourceVersion %q: want a non-negative integer below 2^63-1", v))
			}
		}
	}
	return opts, nil
}

// versioned stamps the URL's API version on an outgoing object.
func versioned(ver string, obj api.Object) api.Object {
	api.SetKind(obj)
	obj.Meta().APIVersion = ver
	return obj
}

// versionedShared is versioned for objects that may be shared (watch
// events): it copies only when something must change.
func versionedShared(ver string, obj api.Object) api.Object {
	m := obj.Meta()
	if m.Kind != "" && m.APIVersion == ver {
		return obj
	}
	if _, err := api.ResourceOf(obj); err != nil {
		return obj
	}
	return versioned(ver, api.Copy(obj))
}

func (s *Server) serveList(w http.ResponseWriter, r *http.Request, ver string, res api.Resource) {
	opts, err := listOptions(r, res, false)
	if err != nil {
		writeError(w, err)
		return
	}
	if sl, ok := s.cfg.Store.(store.SharedLister); ok {
		objs, rev, err := sl.ListShared(r.Context(), res, opts)
		if err != nil {
			writeError(w, err)
			return
		}
		if s.writeSharedList(w, ver, res, objs, rev) {
			return
		}
		// Copy, as List would have, and encode as usual.
		for i, o := range objs {
			objs[i] = api.DeepCopy(o)
		}
		s.writeList(w, ver, res, objs, rev)
		return
	}
	objs, rev, err := s.cfg.Store.List(r.Context(), res, opts)
	if err != nil {
		writeError(w, err)
		return
	}
	s.writeList(w, ver, res, objs, rev)
}

// writeSharedList answers a list of shared, read-only objects from the
// encoded objects of encCache (an unchanged object is encoded once for all
// lists and watches): the list without items, then the items spliced in,
// written through a pooled buffer of listChunk bytes, so that a list
// allocates no body of its own (a 1,000-pod list is 1.5 MB: one such
// allocation per list was most of the garbage of a busy list loop). It
// reports false, having written nothing, when the list's encoding does not
// end in its items or an item does not encode.
func (s *Server) writeSharedList(w http.ResponseWriter, ver string, res api.Resource, objs []api.Object, rev uint64) bool {
	empty, err := api.NewList(res, nil, rev)
	if err != nil {
		return false
	}
	empty.Meta().APIVersion = ver
	head, err := json.Marshal(empty)
	const tail = `"items":[]}`
	if err != nil || !bytes.HasSuffix(head, []byte(tail)) {
		return false
	}
	head = head[:len(head)-2] // up to and including '['
	items := make([][]byte, len(objs))
	size := len(head) + len("]}\n")
	for i, o := range objs {
		if items[i], err = s.enc.encode(ver, o); err != nil {
			return false
		}
		size += len(items[i])
		if i > 0 {
			size++ // the comma before it
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(http.StatusOK)
	bp := listBufs.Get().(*[]byte)
	defer listBufs.Put(bp)
	cw := chunkedWriter{w: w, buf: (*bp)[:0]}
	cw.write(head)
	for i, it := range items {
		if i > 0 {
			cw.write(comma)
		}
		cw.write(it)
	}
	cw.write(listEnd)
	cw.flush()
	return true
}

var comma, listEnd = []byte(","), []byte("]}\n")

// listChunk is the size of the buffers lists are written through.
const listChunk = 128 << 10

var listBufs = sync.Pool{New: func() any { b := make([]byte, 0, listChunk); return &b }}

// chunkedWriter gathers small writes into buf and writes it to w when full;
// after w fails it drops the rest (the client went away).
type chunkedWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func (c *chunkedWriter) write(p []byte) {
	if len(c.buf)+len(p) > cap(c.buf) {
		c.flush()
		if len(p) > cap(c.buf) {
			if c.err == nil {
				_, c.err = c.w.Write(p)
			}
			return
		}
	}
	c.buf = append(c.buf, p...)
}

func (c *chunkedWriter) flush() {
	if len(c.buf) > 0 && c.err == nil {
		_, c.err = c.w.Write(c.buf)
	}
	c.buf = c.buf[:0]
}

func (s *Server) writeList(w http.ResponseWriter, ver string, res api.Resource, objs []api.Object, rev uint64) {
	for _, o := range objs {
		versioned(ver, o)
	}
	list, err := api.NewList(res, objs, rev)
	if err != nil {
		writeError(w, err)
		return
	}
	list.Meta().APIVersion = ver
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request, ver string, res api.Resource, id string) {
	ns, _ := requestNamespace(r, res)
	obj, err := s.cfg.Store.Get(r.Context(), res, ns, id)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, versioned(ver, obj))
}

func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request, ver string, res api.Resource, id string) {
	ns, _ := requestNamespace(r, res)
	if _, err := s.cfg.Store.Delete(r.Context(), res, ns, id); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, successStatus(ver, res, id))
}

// readBody reads the whole body, at most limit bytes, into a buffer of its
// announced length.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if pr, ok := r.Body.(preReadBody); ok {
		// Read whole by the server already (httpserve): no second buffer.
		data := pr.PreRead()
		if int64(len(data)) > limit {
			return nil, &http.MaxBytesError{Limit: limit}
		}
		return data, nil
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength <= 0 {
		return io.ReadAll(body)
	}
	var buf bytes.Buffer
	buf.Grow(int(r.ContentLength) + bytes.MinRead) // ReadFrom wants MinRead free to read the end
	_, err := buf.ReadFrom(body)
	return buf.Bytes(), err
}

// preReadBody is a body the server read whole before the handler ran
// (httpserve's pre-read): PreRead returns its bytes.
type preReadBody interface {
	PreRead() []byte
}

// readObject reads and decodes the body as an object of res, checking size,
// JSON syntax, kind and apiVersion, and reconciling the namespace with the
// request's.
func (s *Server) readObject(w http.ResponseWriter, r *http.Request, res api.Resource) (api.Object, error) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, api.NewTooLarge(s.cfg.MaxBodyBytes)
	}
	data, err := readBody(w, r, s.cfg.MaxBodyBytes)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, api.NewTooLarge(s.cfg.MaxBodyBytes)
		}
		return nil, badRequest("read body: " + err.Error())
	}
	obj := api.New(res)
	// Decoded first: json.Unmarshal checks the syntax itself, so a valid
	// body is scanned once more only to be sure of its keys.
	if err := json.Unmarshal(data, obj); err != nil {
		var se *json.SyntaxError
		if !errors.As(err, &se) || json.Valid(data) {
			return nil, jsonError(res.Kind(), data, err)
		}
		// v0.6 decoded bodies as YAML, a superset of JSON: the blog's files
		// with trailing commas were accepted (and still are; nothing else
		// of YAML). Its curly quotes are named.
		if line, col, q, ok := api.TypographicQuote(data); ok {
			return nil, badRequest(fmt.Sprintf("malformed %s JSON: typographic quote %q at line %d, column %d: JSON needs plain quotes (\")", res.Kind(), q, line, col))
		}
		if js := api.StripTrailingCommas(data); json.Valid(js) {
			data = js
		}
		obj = api.New(res)
		if err := json.Unmarshal(data, obj); err != nil {
			return nil, jsonError(res.Kind(), data, err)
		}
	}
	// Strict: a body must be an object, and every key must name a field
	// exactly (encoding/json ignores unknown keys and folds case). The
	// usual body is answered by a walk of its bytes; the rest decoded again
	// to name each key.
	if !api.OnlyKnownFields(obj, data) {
		unknown, err := api.UnknownFields(obj, data)
		if err != nil {
			return nil, badRequest(fmt.Sprintf("%s body: %v", res.Kind(), err))
		}
		if err := api.UnknownFieldsError(res.Kind(), unknown); err != nil {
			return nil, err
		}
	}
	m := obj.Meta()
	if m.Kind != "" && m.Kind != res.Kind() {
		return nil, badRequest(fmt.Sprintf("body has kind %q, but %s holds %q objects", m.Kind, res, res.Kind()))
	}
	if m.APIVersion != "" && !knownVersion(m.APIVersion) {
		return nil, badRequest(fmt.Sprintf("body has apiVersion %q; this server speaks %v", m.APIVersion, Versions))
	}
	if res.Namespaced() {
		ns, explicit := requestNamespace(r, res)
		switch {
		case m.Namespace == "":
			if ns == "" {
				ns = api.DefaultNamespace
			}
			m.Namespace = ns
		case explicit && ns != "" && ns != m.Namespace:
			return nil, badRequest(fmt.Sprintf("body namespace %q does not match the request's namespace %q", m.Namespace, ns))
		}
	}
	return obj, nil
}

// ownedCreator is a store that can keep the object it creates instead of
// copying it first (the registry: registry.CreateOwned).
type ownedCreator interface {
	CreateOwned(ctx context.Context, obj api.Object) (api.Object, error)
}

func (s *Server) serveCreate(w http.ResponseWriter, r *http.Request, ver string, res api.Resource) {
	obj, err := s.readObject(w, r, res)
	if err == nil {
		obj, err = s.admitUser(r, res, obj) // a minion writes only its own minion (secure.go)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	var out api.Object
	if oc, ok := s.cfg.Store.(ownedCreator); ok {
		out, err = oc.CreateOwned(r.Context(), obj) // obj is this request's alone
	} else {
		out, err = s.cfg.Store.Create(r.Context(), obj)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	if out == nil {
		st := successStatus(ver, res, obj.Meta().ID)
		st.Code = http.StatusCreated
		writeJSON(w, http.StatusCreated, st)
		return
	}
	writeJSON(w, http.StatusCreated, versioned(ver, out))
}

// readItem reads the body of a write to item id (readObject): a body
// without an id takes the path's, one with another id is a 400.
func (s *Server) readItem(w http.ResponseWriter, r *http.Request, res api.Resource, id string) (api.Object, error) {
	obj, err := s.readObject(w, r, res)
	if err != nil {
		return nil, err
	}
	switch m := obj.Meta(); m.ID {
	case "":
		m.ID = id
	case id:
	default:
		return nil, badRequest(fmt.Sprintf("body id %q does not match the id %q in the path", m.ID, id))
	}
	return obj, nil
}

func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request, ver string, res api.Resource, id string) {
	obj, err := s.readItem(w, r, res, id)
	if err != nil {
		writeError(w, err)
		return
	}
	// A minion writes only its own minion and its pods' status (secure.go).
	if obj, err = s.admitUser(r, res, obj); err != nil {
		writeError(w, err)
		return
	}
	out, err := s.cfg.Store.Update(r.Context(), obj)
	if err != nil {
		writeError(w, err)
		return
	}
	if out == nil {
		writeJSON(w, http.StatusOK, successStatus(ver, res, id))
		return
	}
	writeJSON(w, http.StatusOK, versioned(ver, out))
}

// podStatusWriter writes a pod's currentState alone, asking allow about
// the stored pod it replaces (the registry: registry.WritePodStatus).
type podStatusWriter interface {
	WritePodStatus(ctx context.Context, pod *api.Pod, allow func(stored *api.Pod) error) (*api.Pod, error)
}

// servePodStatus writes a pod's currentState alone (store.StatusWriter):
// PUT .../pods/NAME/status with a pod of which only id, namespace,
// resourceVersion and currentState are read; it answers the pod as
// stored, or a Status with the new resourceVersion when the request
// prefers it (Prefer: return=minimal, as kubelets ask). A minion's
// credential writes only the status of pods bound to it, judged on the
// very version the write replaces.
func (s *Server) servePodStatus(w http.ResponseWriter, r *http.Request, ver, id string) {
	sw, ok := s.cfg.Store.(podStatusWriter)
	if !ok {
		writeStatus(w, newStatus(http.StatusNotImplemented, api.ReasonNotImplemented, "this API server writes no pod status apart from the pod"))
		return
	}
	obj, err := s.readItem(w, r, api.Pods, id)
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := sw.WritePodStatus(r.Context(), obj.(*api.Pod), s.statusAllowed(r))
	if err != nil {
		writeError(w, err)
		return
	}
	if preferReturn(r.Header) == "minimal" {
		// What a kubelet reads of the answer: encoding and decoding the
		// whole pod was a fifth of its status write.
		st := successStatus(ver, api.Pods, out.ID)
		st.ResourceVersion = out.ResourceVersion
		w.Header().Set("Preference-Applied", api.PreferMinimal)
		writeJSON(w, http.StatusOK, st)
		return
	}
	writeJSON(w, http.StatusOK, versionedShared(ver, out)) // out is read only
}

// serveHeartbeat records a minion's heartbeat without writing the minion
// (store.Heartbeater): PUT .../minions/NAME/heartbeat, no body, allowed to
// whoever may update minion NAME (its own kubelet). 501 when the store
// records no heartbeats apart from the minion (the kubelet then writes it).
func (s *Server) serveHeartbeat(w http.ResponseWriter, r *http.Request, ver, id string) {
	hb, ok := s.cfg.Store.(store.Heartbeater)
	if !ok {
		writeStatus(w, newStatus(http.StatusNotImplemented, api.ReasonNotImplemented, store.ErrNoHeartbeats.Error()))
		return
	}
	switch err := hb.Heartbeat(r.Context(), id); {
	case errors.Is(err, store.ErrNoHeartbeats):
		writeStatus(w, newStatus(http.StatusNotImplemented, api.ReasonNotImplemented, err.Error()))
	case err != nil:
		writeError(w, err)
	default:
		writeJSON(w, http.StatusOK, successStatus(ver, api.Minions, id))
	}
}
