package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sirupsen/logrus"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"kubelite/internal/api"
	"kubelite/internal/logging"
	"kubelite/internal/store"
)

// EventTTL is how long events are kept.
const EventTTL = time.Hour

// leaseReuse is how long one lease is shared by new events.
const leaseReuse = time.Minute

// Store is a store.Store on etcd.
type Store struct {
	cli *clientv3.Client
	raw pb.KVClient // cli's KV service, when writes may be built here (put)
	now func() time.Time

	cacheMu sync.Mutex
	cache   map[api.Resource]map[string]cacheEntry
	decodes atomic.Int64 // values decoded for the cache (decodeShared)
	intern  *interner    // shares the repeated strings of cached objects (intern.go)

	bcMu   sync.Mutex
	bcasts map[api.Resource]*broadcaster // shared watches, see broadcast.go

	leaseMu    sync.Mutex
	lease      clientv3.LeaseID
	leaseGrant time.Time

	log   *logrus.Entry
	badMu sync.Mutex
	bad   map[string]int64 // undecodable values reported: key -> revision
}

var _ store.Store = (*Store)(nil)

// New returns a store using cli; the caller owns cli.
func New(cli *clientv3.Client) *Store {
	s := &Store{cli: cli, now: time.Now, cache: map[api.Resource]map[string]cacheEntry{}, intern: newInterner(), bcasts: map[api.Resource]*broadcaster{},
		log: logging.Discard(), bad: map[string]int64{}}
	if cli == nil {
		return s // tests of the store's parts that reach no etcd
	}
	if r, ok := cli.KV.(interface{ RawKV() pb.KVClient }); ok {
		s.raw = r.RawKV()
	}
	return s
}

// WithLog sets the logger (undecodable values are warned there) and returns
// s; without it s logs nothing.
func (s *Store) WithLog(l *logrus.Entry) *Store {
	s.log = logging.OrDiscard(l)
	return s
}

// Client returns the underlying client.
func (s *Store) Client() *clientv3.Client { return s.cli }

func decode(res api.Resource, kv *mvccpb.KeyValue, rev int64) (api.Object, error) {
	obj := api.New(res)
	if err := json.Unmarshal(kv.Value, obj); err != nil {
		return nil, api.NewInternal(fmt.Errorf("the stored value of %s does not decode (delete it, or restore it from a backup): %w", kv.Key, err))
	}
	obj.Meta().ResourceVersion = uint64(rev)
	return obj, nil
}

// encode marshals obj without its resourceVersion (that is the mod revision).
func encode(obj api.Object) ([]byte, error) {
	m := obj.Meta()
	rv := m.ResourceVersion
	m.ResourceVersion = 0
	data, err := json.Marshal(obj)
	m.ResourceVersion = rv
	if err != nil {
		return nil, api.NewInternal(fmt.Errorf("encode %s: %w", m.ID, err))
	}
	return data, nil
}

func keyOf(obj api.Object) (api.Resource, string, error) {
	res, err := api.ResourceOf(obj)
	if err != nil {
		return "", "", api.NewBadRequest(err.Error())
	}
	if res == api.Bindings {
		return "", "", api.NewBadRequest("bindings are not stored")
	}
	m := obj.Meta()
	if m.ID == "" {
		return "", "", api.NewInvalid(res.Kind(), "", []api.StatusCause{{Reason: api.CauseRequired, Field: "id", Message: "required"}})
	}
	m.Namespace = store.Namespace(res, m.Namespace)
	return res, store.Key(res, m.Namespace, m.ID), nil
}

// Size limits of stored objects (their JSON, without resourceVersion).
const (
	// MaxEventBytes bounds an event: events are many, short-lived and
	// written by every component, so a flood of large ones must not fill
	// the store.
	MaxEventBytes = 16 << 10
	// MaxObjectBytes bounds every other object: etcd refuses requests over
	// 1.5 MiB (its --max-request-bytes), and the key and the transaction
	// need some room of their own.
	MaxObjectBytes = 1536<<10 - 8<<10
)

// MaxBytes returns the size limit of an object of res.
func MaxBytes(res api.Resource) int {
	if res == api.Events {
		return MaxEventBytes
	}
	return MaxObjectBytes
}

// checkSize refuses an object too large for its kind with 413.
func checkSize(res api.Resource, obj api.Object, data []byte) error {
	if limit := MaxBytes(res); len(data) > limit {
		return api.NewObjectTooLarge(res.Kind(), obj.Meta().ID, len(data), limit)
	}
	return nil
}

// NoSpaceMessage is the 507 answered while etcd's space quota is exhausted.
const NoSpaceMessage = "etcd's space quota is exhausted (database space exceeded): the cluster refuses writes until space is freed. " +
	"kubelite's master compacts etcd's history, defragments it and clears the alarm by itself within a minute; " +
	"if live objects fill the quota, delete some (events expire after an hour) or raise the master's etcd quota"

// isNoSpace reports etcd's NOSPACE refusal of a write.
func isNoSpace(err error) bool {
	if errors.Is(err, rpctypes.ErrNoSpace) || errors.Is(err, rpctypes.ErrGRPCNoSpace) {
		return true
	}
	if st, ok := status.FromError(err); ok && st.Code() == codes.ResourceExhausted {
		return strings.Contains(st.Message(), "database space exceeded")
	}
	return strings.Contains(err.Error(), "database space exceeded")
}

// storeErr turns an etcd failure into a Status error.
func storeErr(op, key string, err error) error {
	var se *api.StatusError
	if errors.As(err, &se) {
		return err
	}
	if isNoSpace(err) {
		return api.NewInsufficientStorage(NoSpaceMessage)
	}
	wrapped := fmt.Errorf("etcd %s %s: %w", op, key, err)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return api.NewUnavailable(wrapped.Error())
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
			return api.NewUnavailable(wrapped.Error())
		}
	}
	return api.NewInternal(wrapped)
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, res api.Resource, namespace, id string) (api.Object, error) {
	key := store.Key(res, store.Namespace(res, namespace), id)
	done := timed("get", res)
	resp, err := s.cli.Get(ctx, key)
	done()
	if err != nil {
		return nil, storeErr("get", key, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, api.NewNotFound(res.Kind(), id)
	}
	return decode(res, resp.Kvs[0], resp.Kvs[0].ModRevision)
}

func listPrefix(res api.Resource, namespace string) string {
	if namespace == "" {
		return store.ResourcePrefix(res, "")
	}
	return store.ResourcePrefix(res, store.Namespace(res, namespace))
}

// List implements store.Store.
func (s *Store) List(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	out, rev, err := s.ListShared(ctx, res, opts)
	if err != nil {
		return nil, 0, err
	}
	// The decoded objects are the cache's: hand out copies.
	copies := make([]api.Object, len(out))
	_ = parallelFor(len(out), func(i int) error { copies[i] = api.DeepCopy(out[i]); return nil })
	return copies, rev, nil
}

// ListShared implements store.SharedLister: List without the copies; the
// objects are the list cache's, read only.
func (s *Store) ListShared(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	if api.New(res) == nil || res == api.Bindings {
		return nil, 0, api.NewBadRequest(fmt.Sprintf("cannot list %q", res))
	}
	prefix := listPrefix(res, opts.Namespace)
	done := timed("list", res)
	objs, rev, err := s.readList(ctx, res, prefix, opts.Namespace == "")
	done()
	if err != nil {
		return nil, 0, err
	}
	out := objs[:0]
	for _, o := range objs {
		if opts.Matches(o) {
			out = append(out, o)
		}
	}
	return out, uint64(rev), nil
}

// parallelFor runs f(0..n-1), in chunks on several goroutines when n is
// large, and returns the first error.
func parallelFor(n int, f func(i int) error) error {
	const chunk = 256
	if n <= chunk {
		for i := 0; i < n; i++ {
			if err := f(i); err != nil {
				return err
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := start; i < end; i++ {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func (s *Store) eventLease(ctx context.Context) (clientv3.LeaseID, error) {
	s.leaseMu.Lock()
	defer s.leaseMu.Unlock()
	now := s.now()
	if s.lease != 0 && now.Sub(s.leaseGrant) < leaseReuse {
		return s.lease, nil
	}
	resp, err := s.cli.Grant(ctx, int64(EventTTL/time.Second))
	if err != nil {
		return 0, storeErr("grant lease", "events", err)
	}
	s.lease, s.leaseGrant = resp.ID, now
	return resp.ID, nil
}

// Create implements store.Store.
func (s *Store) Create(ctx context.Context, obj api.Object) (api.Object, error) {
	return s.create(ctx, obj, false)
}

// CreateOwned is Create of an object the caller gives up: it returns obj
// itself, its resourceVersion set, instead of a copy (the registry's
// creates, whose object is the request's own or the registry's copy).
func (s *Store) CreateOwned(ctx context.Context, obj api.Object) (api.Object, error) {
	return s.create(ctx, obj, true)
}

func (s *Store) create(ctx context.Context, obj api.Object, owned bool) (api.Object, error) {
	res, key, err := keyOf(obj)
	if err != nil {
		return nil, err
	}
	data, err := encode(obj)
	if err != nil {
		return nil, err
	}
	if err := checkSize(res, obj, data); err != nil {
		return nil, err
	}
	w := s.expect(res, key, data, obj)
	var resp *clientv3.TxnResponse
	for attempt := 0; ; attempt++ {
		var lease clientv3.LeaseID
		if res == api.Events {
			if lease, err = s.eventLease(ctx); err != nil {
				return nil, err
			}
		}
		done := timed("create", res)
		resp, err = s.put(ctx, cas{key: key, data: data, target: pb.Compare_CREATE, result: pb.Compare_EQUAL, lease: lease})
		done()
		if err != nil && res == api.Events && errors.Is(err, rpctypes.ErrLeaseNotFound) && attempt == 0 {
			// The shared lease expired or was revoked: grant a new one, once.
			s.leaseMu.Lock()
			s.lease = 0
			s.leaseMu.Unlock()
			continue
		}
		break
	}
	if err != nil {
		w.abandon()
		return nil, storeErr("create", key, err)
	}
	if !resp.Succeeded {
		w.abandon()
		return nil, api.NewAlreadyExists(res.Kind(), obj.Meta().ID)
	}
	if owned {
		obj.Meta().ResourceVersion = uint64(resp.Header.Revision)
		return obj, nil
	}
	return writtenCopy(obj, resp.Header.Revision)
}

// cas is one conditional write: put data under key if key's target
// revision compares to rev by result; else, with elseKeys, read key's
// revisions (keys only) to tell a missing key from a stale version.
type cas struct {
	key         string
	data        []byte
	target      pb.Compare_CompareTarget // pb.Compare_CREATE or pb.Compare_MOD
	result      pb.Compare_CompareResult
	rev         int64
	lease       clientv3.LeaseID
	ignoreLease bool
	elseKeys    bool
}

// put runs w as one transaction. Through the in-process client (s.raw) it
// builds etcd's request itself: clientv3's Compare and If clone each
// comparison by reflection and OpPut copies the value, together about 7%
// of what a busy master allocated and 3% of its CPU. A network client
// keeps clientv3's path, with the call options and retries it was made
// with.
func (s *Store) put(ctx context.Context, w cas) (*clientv3.TxnResponse, error) {
	key := []byte(w.key) // read only below: the comparison and the put share it
	cmp := &pb.Compare{Target: w.target, Result: w.result, Key: key}
	if w.target == pb.Compare_CREATE {
		cmp.TargetUnion = &pb.Compare_CreateRevision{CreateRevision: w.rev}
	} else {
		cmp.TargetUnion = &pb.Compare_ModRevision{ModRevision: w.rev}
	}
	if s.raw == nil {
		var opts []clientv3.OpOption
		if w.lease != 0 {
			opts = append(opts, clientv3.WithLease(w.lease))
		}
		if w.ignoreLease {
			opts = append(opts, clientv3.WithIgnoreLease())
		}
		t := s.cli.Txn(ctx).If(clientv3.FromCompare(cmp)).Then(clientv3.OpPut(w.key, bytesString(w.data), opts...))
		if w.elseKeys {
			t = t.Else(clientv3.OpGet(w.key, clientv3.WithKeysOnly()))
		}
		return t.Commit()
	}
	req := &pb.TxnRequest{
		Compare: []*pb.Compare{cmp},
		Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{
			Key: key, Value: w.data, Lease: int64(w.lease), IgnoreLease: w.ignoreLease}}}},
	}
	if w.elseKeys {
		req.Failure = []*pb.RequestOp{{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: key, KeysOnly: true}}}}
	}
	resp, err := s.raw.Txn(ctx, req)
	if err != nil {
		return nil, clientErr(ctx, err)
	}
	return (*clientv3.TxnResponse)(resp), nil
}

// clientErr is err as clientv3 returns it: etcd's own errors as rpctypes
// values (rpctypes.ErrLeaseNotFound, ErrNoSpace), a cancelled or expired
// request as its context's error.
func clientErr(ctx context.Context, err error) error {
	err = rpctypes.Error(err)
	if _, ok := err.(rpctypes.EtcdError); ok {
		return err
	}
	if st, ok := status.FromError(err); ok && (st.Code() == codes.DeadlineExceeded || st.Code() == codes.Canceled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// bytesString is data as a string without a copy, for clientv3.OpPut,
// which copies its value into the request at once: data is never written
// after it is encoded (the expected write keeps it read only).
func bytesString(data []byte) string {
	return unsafe.String(unsafe.SliceData(data), len(data))
}

// writtenCopy returns the caller's own copy of what was just written at
// rev: a DeepCopy of obj, cheaper than decoding the bytes again.
func writtenCopy(obj api.Object, rev int64) (api.Object, error) {
	out := api.DeepCopy(obj)
	out.Meta().ResourceVersion = uint64(rev)
	return out, nil
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, obj api.Object) (api.Object, error) {
	return s.update(ctx, obj, false)
}

// UpdateOwned is Update of an object the caller gives up: it returns obj
// itself, its resourceVersion set, instead of a copy (the registry's binds
// and status writes, whose object is the registry's own).
func (s *Store) UpdateOwned(ctx context.Context, obj api.Object) (api.Object, error) {
	return s.update(ctx, obj, true)
}

func (s *Store) update(ctx context.Context, obj api.Object, owned bool) (api.Object, error) {
	res, key, err := keyOf(obj)
	if err != nil {
		return nil, err
	}
	data, err := encode(obj)
	if err != nil {
		return nil, err
	}
	if err := checkSize(res, obj, data); err != nil {
		return nil, err
	}
	rv := obj.Meta().ResourceVersion
	write := cas{key: key, data: data, target: pb.Compare_CREATE, result: pb.Compare_GREATER, ignoreLease: res == api.Events, elseKeys: true}
	if rv != 0 {
		write.target, write.result, write.rev = pb.Compare_MOD, pb.Compare_EQUAL, int64(rv)
	}
	w := s.expect(res, key, data, obj)
	done := timed("update", res)
	resp, err := s.put(ctx, write)
	done()
	if err != nil {
		w.abandon()
		return nil, storeErr("update", key, err)
	}
	if !resp.Succeeded {
		w.abandon()
		id := obj.Meta().ID
		if rv == 0 || len(resp.Responses) == 0 || len(resp.Responses[0].GetResponseRange().Kvs) == 0 {
			return nil, api.NewNotFound(res.Kind(), id)
		}
		cur := resp.Responses[0].GetResponseRange().Kvs[0].ModRevision
		return nil, api.NewConflict(res.Kind(), id, fmt.Sprintf("resourceVersion %d is stale (now %d)", rv, cur))
	}
	if owned {
		obj.Meta().ResourceVersion = uint64(resp.Header.Revision)
		return obj, nil
	}
	return writtenCopy(obj, resp.Header.Revision)
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, res api.Resource, namespace, id string) (api.Object, error) {
	key := store.Key(res, store.Namespace(res, namespace), id)
	done := timed("delete", res)
	resp, err := s.cli.Delete(ctx, key, clientv3.WithPrevKV())
	done()
	if err != nil {
		return nil, storeErr("delete", key, err)
	}
	if resp.Deleted == 0 || len(resp.PrevKvs) == 0 {
		return nil, api.NewNotFound(res.Kind(), id)
	}
	s.uncache(res, key, resp.Header.Revision)
	obj, err := decode(res, resp.PrevKvs[0], resp.Header.Revision)
	if err != nil {
		// The way out of an undecodable value is to delete it: that
		// succeeds, and answers with what is known of the object.
		s.log.WithField("key", key).Warn("deleted an undecodable value")
		obj = api.New(res)
		m := obj.Meta()
		m.ID, m.Namespace, m.ResourceVersion = id, store.Namespace(res, namespace), uint64(resp.Header.Revision)
		api.SetKind(obj)
	}
	return obj, nil
}

// Count returns how many objects of res namespace holds ("" for all, or for
// minions), read with a count-only range (no values are sent).
func (s *Store) Count(ctx context.Context, res api.Resource, namespace string) (int, error) {
	prefix := listPrefix(res, namespace)
	resp, err := s.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return 0, storeErr("count", prefix, err)
	}
	return int(resp.Count), nil
}

// Revision returns the current revision of the cluster.
func (s *Store) Revision(ctx context.Context) (uint64, error) {
	resp, err := s.cli.Get(ctx, store.KeyPrefix+"revision", clientv3.WithCountOnly())
	if err != nil {
		return 0, storeErr("get revision", store.KeyPrefix, err)
	}
	return uint64(resp.Header.Revision), nil
}
