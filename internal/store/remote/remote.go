package remote

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/endpoint"
	"kubelite/internal/store"
)

// DefaultTimeout bounds every request but watches.
const DefaultTimeout = 30 * time.Second

// Store is a store.Store speaking the v1beta1 API of a kubelite master.
type Store struct {
	base    string // http://host:port, no trailing slash
	prefix  string // base + "/api/v1beta1/"
	client  *http.Client
	watcher *http.Client // same transport, no overall timeout
}

var (
	_ store.Store        = (*Store)(nil)
	_ store.StatusWriter = (*Store)(nil)
)

// New returns a store talking plain HTTP, with no credential, to master
// ("http://host:8080", "host:8080"): tests and --insecure masters.
func New(master string) (*Store, error) {
	ep, err := endpoint.Plain(master)
	if err != nil {
		return nil, err
	}
	return NewEndpoint(ep), nil
}

// NewEndpoint returns a store talking to the API at ep, with ep's TLS and
// credential.
func NewEndpoint(ep endpoint.Endpoint) *Store {
	return NewWithTransport(ep, ep.RoundTripper())
}

// NewWithTransport is NewEndpoint with a caller's transport (tests, a
// transport shared with other calls): rt carries the credential itself
// (ep.RoundTripper() makes one that does).
func NewWithTransport(ep endpoint.Endpoint, rt http.RoundTripper) *Store {
	return &Store{
		base:    ep.URL,
		prefix:  ep.URL + "/api/v1beta1/",
		client:  &http.Client{Transport: rt, Timeout: DefaultTimeout},
		watcher: &http.Client{Transport: rt},
	}
}

// Base returns the master's base URL (http://host:port).
func (s *Store) Base() string { return s.base }

func query(res api.Resource, ns string, allNamespaces bool) url.Values {
	q := url.Values{}
	if res.Namespaced() {
		switch {
		case ns != "":
			q.Set("namespace", ns)
		case allNamespaces:
			q["namespace"] = []string{""}
		default:
			q.Set("namespace", api.DefaultNamespace)
		}
	}
	return q
}

func (s *Store) url(path string, q url.Values) string {
	u := s.prefix + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func itemPath(res api.Resource, id string) string {
	return string(res) + "/" + url.PathEscape(id)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, res api.Resource, ns, id string) (api.Object, error) {
	if id == "" {
		return nil, api.NewNotFound(res.Kind(), id)
	}
	obj := api.New(res)
	if obj == nil {
		return nil, fmt.Errorf("get: unknown resource %q", res)
	}
	if err := s.do(ctx, http.MethodGet, s.url(itemPath(res, id), query(res, ns, false)), nil, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	list, err := api.NewListObject(res)
	if err != nil {
		return nil, 0, err
	}
	if err := s.do(ctx, http.MethodGet, s.url(string(res), listQuery(res, opts)), nil, list); err != nil {
		return nil, 0, err
	}
	objs, rev, err := api.ListItems(list)
	if err != nil {
		return nil, 0, err
	}
	if objs == nil {
		objs = []api.Object{}
	}
	return objs, rev, nil
}

func listQuery(res api.Resource, opts store.ListOptions) url.Values {
	q := query(res, opts.Namespace, true)
	if !opts.Labels.Empty() {
		q.Set("labels", opts.Labels.String())
	}
	if !opts.Fields.Empty() {
		q.Set("fields", opts.Fields.String())
	}
	if opts.ResourceVersion != 0 {
		q.Set("resourceVersion", strconv.FormatUint(opts.ResourceVersion, 10))
	}
	return q
}

// Create implements store.Store. A *api.Binding is POSTed to /bindings.
func (s *Store) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	res, err := api.ResourceOf(obj)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", res.Kind(), err)
	}
	out := api.New(res)
	if err := s.do(ctx, http.MethodPost, s.url(string(res), query(res, obj.Meta().Namespace, false)), body, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, obj api.Object) (api.Object, error) {
	res, err := api.ResourceOf(obj)
	if err != nil {
		return nil, err
	}
	m := obj.Meta()
	if m.ID == "" {
		return nil, api.NewInvalid(res.Kind(), "", []api.StatusCause{{Reason: api.CauseRequired, Field: "id", Message: "required"}})
	}
	body, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", res.Kind(), err)
	}
	out := api.New(res)
	if err := s.do(ctx, http.MethodPut, s.url(itemPath(res, m.ID), query(res, m.Namespace, false)), body, out); err != nil {
		return nil, err
	}
	return out, nil
}

// UpdatePodStatus implements store.StatusWriter: PUT .../pods/NAME/status
// with the pod's id, namespace, resourceVersion and currentState only,
// asking for the minimal answer (Prefer: return=minimal: a Status with
// the new resourceVersion, not the whole pod). An API server that answers
// the pod instead is read for the same field.
func (s *Store) UpdatePodStatus(ctx context.Context, pod *api.Pod) (uint64, error) {
	if pod.ID == "" {
		return 0, api.NewInvalid(api.Pods.Kind(), "", []api.StatusCause{{Reason: api.CauseRequired, Field: "id", Message: "required"}})
	}
	in := &api.Pod{TypeMeta: api.TypeMeta{ID: pod.ID, Namespace: pod.Namespace, ResourceVersion: pod.ResourceVersion}, CurrentState: pod.CurrentState}
	api.SetKind(in)
	body, err := json.Marshal(in)
	if err != nil {
		return 0, fmt.Errorf("encode status of pod %s: %w", pod.ID, err)
	}
	var out struct {
		ResourceVersion uint64 `json:"resourceVersion"`
	}
	u := s.url(itemPath(api.Pods, pod.ID)+"/status", query(api.Pods, pod.Namespace, false))
	if err := s.send(ctx, http.MethodPut, u, body, api.PreferMinimal, &out); err != nil {
		return 0, err
	}
	if out.ResourceVersion == 0 {
		return 0, fmt.Errorf("status of pod %s: the answer carries no resourceVersion", pod.ID)
	}
	return out.ResourceVersion, nil
}

// Delete implements store.Store. The API answers a Status, so the object
// returned carries only kind, id and namespace.
func (s *Store) Delete(ctx context.Context, res api.Resource, ns, id string) (api.Object, error) {
	if id == "" {
		return nil, api.NewNotFound(res.Kind(), id)
	}
	var st api.Status
	if err := s.do(ctx, http.MethodDelete, s.url(itemPath(res, id), query(res, ns, false)), nil, &st); err != nil {
		return nil, err
	}
	obj := api.New(res)
	if obj == nil {
		return nil, fmt.Errorf("delete: unknown resource %q", res)
	}
	m := obj.Meta()
	m.ID, m.Namespace = id, store.Namespace(res, ns)
	api.SetKind(obj)
	return obj, nil
}

// do sends one request and decodes a 2xx answer into out; anything else
// becomes an error (an *api.StatusError for HTTP answers).
func (s *Store) do(ctx context.Context, method, u string, body []byte, out any) error {
	return s.send(ctx, method, u, body, "", out)
}

// send is do with a Prefer header (RFC 7240) when prefer is not empty.
func (s *Store) send(ctx context.Context, method, u string, body []byte, prefer string, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if prefer != "" {
		req.Header.Set("Prefer", prefer)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return s.connError(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer of %s %s: %w", method, u, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
	return nil
}

// connError wraps a transport failure with the master it tried to reach.
func (s *Store) connError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("reach master %s: %w", s.base, ctx.Err())
	}
	var af *endpoint.AllFailedError
	if errors.As(err, &af) {
		return fmt.Errorf("reach master: %w", af) // it names each master
	}
	var me *endpoint.MasterError
	if errors.As(err, &me) {
		return fmt.Errorf("reach master %w", me)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("reach master %s: %w", s.base, err)
}

// statusError decodes a non-2xx answer into an *api.StatusError; a body
// that is not a Status still yields one, with the reason of the code.
func statusError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var st api.Status
	if err := json.Unmarshal(data, &st); err != nil || st.Kind != "Status" {
		msg := strings.TrimSpace(string(data))
		if len(msg) > 512 {
			msg = msg[:512] + "..."
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		st = api.Status{
			TypeMeta: api.TypeMeta{Kind: "Status", APIVersion: api.APIVersion},
			Status:   "Failure",
			Message:  fmt.Sprintf("server answered %d: %s", resp.StatusCode, msg),
			Reason:   reasonFor(resp.StatusCode),
		}
	}
	if st.Code == 0 {
		st.Code = resp.StatusCode
	}
	if st.Reason == "" {
		st.Reason = reasonFor(resp.StatusCode)
	}
	return &api.StatusError{Status: st}
}

func reasonFor(code int) api.StatusReason {
	switch code {
	case http.StatusBadRequest:
		return api.ReasonBadRequest
	case http.StatusUnauthorized:
		return api.ReasonUnauthorized
	case http.StatusForbidden:
		return api.ReasonForbidden
	case http.StatusNotFound:
		return api.ReasonNotFound
	case http.StatusMethodNotAllowed:
		return api.ReasonMethodNotAllowed
	case http.StatusConflict:
		return api.ReasonConflict
	case http.StatusGone:
		return api.ReasonGone
	case http.StatusRequestEntityTooLarge:
		return api.ReasonTooLarge
	case http.StatusUnprocessableEntity:
		return api.ReasonInvalid
	case http.StatusServiceUnavailable:
		return api.ReasonUnavailable
	case http.StatusGatewayTimeout:
		return api.ReasonTimeout
	}
	return api.ReasonInternal
}

// Watch implements store.Store: it returns once the master has accepted
// the watch (so nothing after that is missed), then streams events until
// ctx ends or the stream breaks, and closes the channel.
func (s *Store) Watch(ctx context.Context, res api.Resource, opts store.ListOptions) (<-chan store.Event, error) {
	if api.New(res) == nil {
		return nil, fmt.Errorf("watch: unknown resource %q", res)
	}
	u := s.url("watch/"+string(res), listQuery(res, opts))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", res, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.watcher.Do(req)
	if err != nil {
		return nil, s.connError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, statusError(resp)
	}
	ch := make(chan store.Event)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		rd := bufio.NewReaderSize(resp.Body, 64<<10)
		for {
			// One frame per line (the API server writes them so): decoded
			// in one pass into the resource's type.
			line, err := rd.ReadBytes('\n')
			if err != nil && (err != io.EOF || len(bytes.TrimSpace(line)) == 0) {
				return // ctx ended, the master went away, or a broken frame: the caller re-watches
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			ev, ok := decodeLine(res, line)
			if !ok {
				return
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// decodeLine decodes one watch frame; an object frame is decoded straight
// into a new object of res, any other through decodeEvent.
func decodeLine(res api.Resource, line []byte) (store.Event, bool) {
	var typed struct {
		Type   string `json:"type"`
		Object any    `json:"object"`
	}
	obj := api.New(res)
	typed.Object = obj
	if err := json.Unmarshal(line, &typed); err != nil {
		return store.Event{}, false
	}
	switch typ := store.EventType(typed.Type); typ {
	case store.Added, store.Modified, store.Deleted:
		return store.Event{Type: typ, Object: obj}, true
	}
	var frame api.WatchEvent
	if err := json.Unmarshal(line, &frame); err != nil {
		return store.Event{}, false
	}
	return decodeEvent(res, frame)
}

func decodeEvent(res api.Resource, frame api.WatchEvent) (store.Event, bool) {
	typ := store.EventType(frame.Type)
	switch typ {
	case store.Added, store.Modified, store.Deleted:
		obj, err := api.Decode(res, frame.Object)
		if err != nil {
			return store.Event{}, false
		}
		return store.Event{Type: typ, Object: obj}, true
	case store.Error:
		var st api.Status
		if err := json.Unmarshal(frame.Object, &st); err != nil {
			st = api.NewInternal(fmt.Errorf("undecodable watch error: %w", err)).Status
		}
		return store.Event{Type: store.Error, Object: &st}, true
	}
	return store.Event{}, false
}

// Heartbeat implements store.Heartbeater: PUT .../minions/NAME/heartbeat.
// A master that records no heartbeats apart from the minion answers 501,
// returned as store.ErrNoHeartbeats.
func (s *Store) Heartbeat(ctx context.Context, name string) error {
	if name == "" {
		return api.NewNotFound(api.Minions.Kind(), name)
	}
	err := s.do(ctx, http.MethodPut, s.url(itemPath(api.Minions, name)+"/heartbeat", query(api.Minions, "", false)), nil, nil)
	var se *api.StatusError
	if errors.As(err, &se) && se.Status.Code == http.StatusNotImplemented {
		return fmt.Errorf("heartbeat minion %s: %w", name, store.ErrNoHeartbeats)
	}
	return err
}
