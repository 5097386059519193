package v1api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"kubelite/internal/api"
)

// List paging (?limit=N&continue=TOKEN), as kubectl get --chunk-size and
// client-go's pager use it.
//
// Every page of one list is cut from one snapshot: the first page lists the
// store once (one etcd revision R), converts, filters and sorts the items by
// <namespace>/<name> and, when they do not fit in the page, keeps them. The
// continue token is Kubernetes' own form, base64url of
// {"v":"meta.k8s.io/v1","rv":R,"start":"<last key>\x00"}; the next pages are
// read from the snapshot after that key, so an object created, changed or
// deleted meanwhile shows in no page (or in its state at R), and the list's
// resourceVersion stays R: a watch from it misses nothing.
//
// Snapshots live SnapshotTTL (five minutes, the interval at which
// Kubernetes compacts etcd) and at most snapshotMaxItems objects are held
// (the oldest snapshots go first). A token whose snapshot is gone (expired,
// evicted, or served by another master or before a restart) answers 410
// Expired with Kubernetes' "continue parameter is too old" Status: client-go's
// pager then lists in full, kubectl reports it.

// SnapshotTTL is how long a paged list's snapshot answers its continue token.
const SnapshotTTL = 5 * time.Minute

// snapshotMaxItems bounds the objects held by all snapshots together.
const snapshotMaxItems = 100_000

// expiredMessage is Kubernetes' message for a continue token too old.
const expiredMessage = "The provided continue parameter is too old to display a consistent list result. " +
	"You can start a new list without the continue parameter, or use the continue token in this response " +
	"to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent " +
	"list - objects that were created, modified, or deleted between the time the first chunk was returned " +
	"and now may show up in the list."

// continueToken is the decoded ?continue: Kubernetes' layout.
type continueToken struct {
	APIVersion string `json:"v"`
	RV         int64  `json:"rv"`
	Start      string `json:"start"`
}

func encodeContinue(rv uint64, lastKey string) string {
	b, _ := json.Marshal(continueToken{APIVersion: "meta.k8s.io/v1", RV: int64(rv), Start: lastKey + "\x00"})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeContinue(s string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, badRequest(fmt.Sprintf("continue key is not valid: %v", err))
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, badRequest(fmt.Sprintf("continue key is not valid: %v", err))
	}
	if t.APIVersion != "meta.k8s.io/v1" {
		return t, badRequest(fmt.Sprintf("continue key is not valid: got encoding version %q, want meta.k8s.io/v1", t.APIVersion))
	}
	if t.RV <= 0 {
		return t, badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
	}
	return t, nil
}

// page is what a list request asks of paging.
type page struct {
	limit int64
	token *continueToken // nil on a first page
}

// parsePage reads ?limit and ?continue.
func parsePage(q url.Values) (page, error) {
	var p page
	if s := q.Get("limit"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return p, badRequest(fmt.Sprintf("invalid limit %q: want a non-negative integer", s))
		}
		p.limit = n
	}
	if s := q.Get("continue"); s != "" {
		if rv := q.Get("resourceVersion"); rv != "" && rv != "0" {
			return p, badRequest("specifying resource version is not allowed when using continue")
		}
		t, err := decodeContinue(s)
		if err != nil {
			return p, err
		}
		p.token = &t
	}
	return p, nil
}

// snapshotKey names the list a snapshot answers: the same path (resource
// and namespace), the same selectors, the same revision.
type snapshotKey struct {
	path, labels, fields string
	rv                   uint64
}

func keyOf(r *http.Request, rv uint64) snapshotKey {
	q := r.URL.Query()
	return snapshotKey{path: r.URL.Path, labels: q.Get("labelSelector"), fields: q.Get("fieldSelector"), rv: rv}
}

type snapshot struct {
	items []runtime.Object // sorted by keys
	keys  []string
	taken time.Time
}

// snapshots holds the paged lists' snapshots.
type snapshots struct {
	now func() time.Time

	mu    sync.Mutex
	byKey map[snapshotKey]*snapshot
	order []snapshotKey // oldest first
	held  int           // items in all snapshots
}

func newSnapshots(now func() time.Time) *snapshots {
	return &snapshots{now: now, byKey: map[snapshotKey]*snapshot{}}
}

// expireLocked drops snapshots past their TTL and, while more than max
// items are held, the oldest.
func (s *snapshots) expireLocked(max int) {
	now := s.now()
	for len(s.order) > 0 {
		k := s.order[0]
		sn := s.byKey[k]
		if sn != nil && now.Sub(sn.taken) < SnapshotTTL && s.held <= max {
			return
		}
		if sn != nil {
			s.held -= len(sn.items)
			delete(s.byKey, k)
		}
		s.order = s.order[1:]
	}
}

func (s *snapshots) put(k snapshotKey, sn *snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.byKey[k]; old != nil {
		// The same list at the same revision (the same items): it is
		// young again, and last in the order.
		s.held -= len(old.items)
		for i, o := range s.order {
			if o == k {
				s.order = append(s.order[:i:i], s.order[i+1:]...)
				break
			}
		}
	}
	s.byKey[k] = sn
	s.order = append(s.order, k)
	s.held += len(sn.items)
	s.expireLocked(snapshotMaxItems)
}

func (s *snapshots) get(k snapshotKey) *snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(snapshotMaxItems)
	if sn := s.byKey[k]; sn != nil && s.now().Sub(sn.taken) < SnapshotTTL {
		return sn
	}
	return nil
}

// itemKey is the order of a list's items: <namespace>/<name>.
func itemKey(o runtime.Object) string {
	m := objectMeta(o)
	if m == nil {
		return ""
	}
	return m.Namespace + "/" + m.Name
}

// listPage is the result of paging a list.
type listPage struct {
	items []runtime.Object
	meta  metav1.ListMeta
}

// expired is the 410 of a continue token whose snapshot is gone.
func expired() error {
	return &api.StatusError{Status: api.Status{Code: http.StatusGone, Reason: api.ReasonGone, Message: expiredMessage}}
}

// continued answers a page with a continue token from its snapshot.
func (h *Handler) continued(r *http.Request, p page) (listPage, error) {
	sn := h.pages.get(keyOf(r, uint64(p.token.RV)))
	if sn == nil {
		return listPage{}, expired()
	}
	from := sort.SearchStrings(sn.keys, p.token.Start)
	return cut(sn, from, p.limit, uint64(p.token.RV)), nil
}

// first pages a fresh list read at rev; items are sorted in place.
func (h *Handler) first(r *http.Request, p page, items []runtime.Object, rev uint64) listPage {
	if p.limit <= 0 || int64(len(items)) <= p.limit {
		return listPage{items: items, meta: metav1.ListMeta{ResourceVersion: strconv.FormatUint(rev, 10)}}
	}
	keys := make([]string, len(items))
	for i, o := range items {
		keys[i] = itemKey(o)
	}
	sort.Sort(byKey{items, keys})
	sn := &snapshot{items: items, keys: keys, taken: h.cfg.Now()}
	h.pages.put(keyOf(r, rev), sn)
	return cut(sn, 0, p.limit, rev)
}

// cut is the page of sn from index from, of at most limit items (0: all).
func cut(sn *snapshot, from int, limit int64, rev uint64) listPage {
	to := len(sn.items)
	if limit > 0 && int64(to-from) > limit {
		to = from + int(limit)
	}
	out := listPage{items: append([]runtime.Object{}, sn.items[from:to]...), meta: metav1.ListMeta{ResourceVersion: strconv.FormatUint(rev, 10)}}
	if rest := int64(len(sn.items) - to); rest > 0 {
		out.meta.Continue = encodeContinue(rev, sn.keys[to-1])
		out.meta.RemainingItemCount = &rest
	}
	return out
}

type byKey struct {
	items []runtime.Object
	keys  []string
}

func (b byKey) Len() int           { return len(b.items) }
func (b byKey) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey) Swap(i, j int) {
	b.items[i], b.items[j] = b.items[j], b.items[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}
