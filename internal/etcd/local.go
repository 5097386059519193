package etcd

import (
	"context"
	"errors"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/etcdserver"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3rpc"
	"go.etcd.io/etcd/server/v3/lease"
	"go.etcd.io/etcd/server/v3/proxy/grpcproxy/adapter"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// localConns are the embedded server's KV, watch and lease services as
// clients that call it in this process (etcd's v3client adapters).
type localConns struct {
	kv      pb.KVClient
	watch   pb.WatchClient
	lease   pb.LeaseClient
	renew   func(ctx context.Context, id lease.LeaseID) (int64, error)
	stopped <-chan struct{}
}

func newLocalConns(s *etcdserver.EtcdServer) *localConns {
	return &localConns{
		kv:      adapter.KvServerToKvClient(v3rpc.NewQuotaKVServer(s)),
		watch:   adapter.WatchServerToWatchClient(v3rpc.NewWatchServer(s)),
		lease:   adapter.LeaseServerToLeaseClient(v3rpc.NewQuotaLeaseServer(s)),
		renew:   s.LeaseRenew,
		stopped: s.StopNotify(),
	}
}

// fail is err, or etcd's "server stopped" (Unavailable, as a network client
// gets it) when the server has stopped: a stopped server's raft answers
// "raft: stopped" with code Unknown.
func (c *localConns) fail(err error) error {
	if err == nil {
		return nil
	}
	select {
	case <-c.stopped:
		return rpctypes.ErrGRPCStopped
	default:
		return err
	}
}

// call runs f on d's connections once the server is ready, with a stopped
// server's error as a network client gets it (see fail).
func call[R any](ctx context.Context, d *deferred, f func(*localConns) (R, error)) (R, error) {
	c, err := d.conns(ctx)
	if err != nil {
		var zero R
		return zero, err
	}
	r, err := f(c)
	return r, c.fail(err)
}

// LocalClient returns a client of this embedded server whose KV, Watch and
// Lease calls run in this process: the client's requests go to etcd's
// request handlers (the same quota-checking handlers its gRPC server uses)
// as function calls, without protobuf marshalling, HTTP/2 framing or the
// loopback socket on either side. Cluster, Maintenance and Auth calls go to
// rest, a network client of the same server (NewClient of Endpoints()).
// It can be made before Run: a call waits until the server is ready, or
// returns its context's error.
//
// What differs from a network client of the same member:
//   - WithRequireLeader is ignored (it is read by the gRPC server's
//     interceptors, which in-process calls do not pass): a watch of a member
//     that lost its leader stays open and quiet instead of ending with "no
//     leader"; reads and writes time out as they would over the network.
//   - No gRPC retries or keepalives: there is no connection to lose, and an
//     error of the server (stopped, NOSPACE, too large) is returned as the
//     network client returns it after its retries.
//   - Watchers of one key range may be handed the same *mvccpb.KeyValue
//     values: they are read only.
//   - KeepAliveOnce calls the server's LeaseRenew (what etcd's keepalive
//     stream does for each request), without opening a stream for the one
//     renewal; its answer carries no response header.
//   - Its KV has RawKV() pb.KVClient, the in-process KV service itself, for
//     a caller that builds etcd's requests (store/etcd's writes, without
//     clientv3's copies); errors come back as the server makes them
//     (rpctypes.Error turns them into what clientv3 returns).
//
// The master's store uses it for its own embedded etcd; the leader election,
// the space and quorum checks and the raw-put peer of `kubelite bench` keep
// network clients. Close it before the server stops; Close returns
// context.Canceled, as every client made by clientv3.NewCtxClient does.
func (e *Embedded) LocalClient(rest *clientv3.Client) *clientv3.Client {
	c := clientv3.NewCtxClient(context.Background())
	d := &deferred{e: e}
	c.KV = rawKV{clientv3.NewKVFromKVClient(localKV{d}, c), localKV{d}}
	// The network client's keepalive timeout (DialTimeout + 1 s).
	c.Lease = localRenew{clientv3.NewLeaseFromLeaseClient(localLease{d}, c, 6*time.Second), d}
	c.Watcher = &watchWrapper{clientv3.NewWatchFromWatchClient(localWatch{d}, c)}
	c.Cluster, c.Maintenance, c.Auth = rest.Cluster, rest.Maintenance, rest.Auth
	return c
}

// deferred hands out the server's local connections once it is ready.
type deferred struct{ e *Embedded }

func (d *deferred) conns(ctx context.Context) (*localConns, error) {
	select {
	case <-d.e.ready:
		return d.e.local.Load(), nil
	default:
	}
	select {
	case <-d.e.ready:
		return d.e.local.Load(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// rawKV is the local client's KV with RawKV (see LocalClient).
type rawKV struct {
	clientv3.KV
	raw pb.KVClient
}

// RawKV returns the in-process KV service the KV's calls reach.
func (k rawKV) RawKV() pb.KVClient { return k.raw }

type localKV struct{ d *deferred }

var _ pb.KVClient = localKV{}

func (k localKV) Range(ctx context.Context, in *pb.RangeRequest, opts ...grpc.CallOption) (*pb.RangeResponse, error) {
	return call(ctx, k.d, func(c *localConns) (*pb.RangeResponse, error) { return c.kv.Range(ctx, in, opts...) })
}

func (k localKV) RangeStream(ctx context.Context, in *pb.RangeRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error) {
	return call(ctx, k.d, func(c *localConns) (grpc.ServerStreamingClient[pb.RangeStreamResponse], error) {
		return c.kv.RangeStream(ctx, in, opts...)
	})
}

func (k localKV) Put(ctx context.Context, in *pb.PutRequest, opts ...grpc.CallOption) (*pb.PutResponse, error) {
	return call(ctx, k.d, func(c *localConns) (*pb.PutResponse, error) { return c.kv.Put(ctx, in, opts...) })
}

func (k localKV) DeleteRange(ctx context.Context, in *pb.DeleteRangeRequest, opts ...grpc.CallOption) (*pb.DeleteRangeResponse, error) {
	return call(ctx, k.d, func(c *localConns) (*pb.DeleteRangeResponse, error) { return c.kv.DeleteRange(ctx, in, opts...) })
}

func (k localKV) Txn(ctx context.Context, in *pb.TxnRequest, opts ...grpc.CallOption) (*pb.TxnResponse, error) {
	return call(ctx, k.d, func(c *localConns) (*pb.TxnResponse, error) { return c.kv.Txn(ctx, in, opts...) })
}

func (k localKV) Compact(ctx context.Context, in *pb.CompactionRequest, opts ...grpc.CallOption) (*pb.CompactionResponse, error) {
	return call(ctx, k.d, func(c *localConns) (*pb.CompactionResponse, error) { return c.kv.Compact(ctx, in, opts...) })
}

type localWatch struct{ d *deferred }

var _ pb.WatchClient = localWatch{}

func (w localWatch) Watch(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[pb.WatchRequest, pb.WatchResponse], error) {
	return call(ctx, w.d, func(c *localConns) (grpc.BidiStreamingClient[pb.WatchRequest, pb.WatchResponse], error) {
		return c.watch.Watch(ctx, opts...)
	})
}

// localRenew is the client's Lease with KeepAliveOnce as one call of the
// server's LeaseRenew. Through the lease adapter a KeepAliveOnce opened a
// keepalive stream for one request (goroutines and pipes on both sides):
// about half of a heartbeat's CPU in the master, and 49 allocations where
// the call makes 10 (kubelets renew their minion's lease every 5 s:
// store/etcd's MinionLeases).
type localRenew struct {
	clientv3.Lease
	d *deferred
}

// KeepAliveOnce renews id once; a lease that is gone fails with
// rpctypes.ErrLeaseNotFound, any other failure with codes.Unavailable, as
// the network client's keepalive gets them.
func (l localRenew) KeepAliveOnce(ctx context.Context, id clientv3.LeaseID) (*clientv3.LeaseKeepAliveResponse, error) {
	ttl, err := call(ctx, l.d, func(c *localConns) (int64, error) { return c.renew(ctx, lease.LeaseID(id)) })
	switch {
	case errors.Is(err, lease.ErrLeaseNotFound), err == nil && ttl <= 0:
		return nil, rpctypes.ErrLeaseNotFound
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &clientv3.LeaseKeepAliveResponse{ResponseHeader: &pb.ResponseHeader{}, ID: id, TTL: ttl}, nil
}

type localLease struct{ d *deferred }

var _ pb.LeaseClient = localLease{}

func (l localLease) LeaseGrant(ctx context.Context, in *pb.LeaseGrantRequest, opts ...grpc.CallOption) (*pb.LeaseGrantResponse, error) {
	return call(ctx, l.d, func(c *localConns) (*pb.LeaseGrantResponse, error) { return c.lease.LeaseGrant(ctx, in, opts...) })
}

func (l localLease) LeaseRevoke(ctx context.Context, in *pb.LeaseRevokeRequest, opts ...grpc.CallOption) (*pb.LeaseRevokeResponse, error) {
	return call(ctx, l.d, func(c *localConns) (*pb.LeaseRevokeResponse, error) { return c.lease.LeaseRevoke(ctx, in, opts...) })
}

func (l localLease) LeaseKeepAlive(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse], error) {
	return call(ctx, l.d, func(c *localConns) (grpc.BidiStreamingClient[pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponse], error) {
		return c.lease.LeaseKeepAlive(ctx, opts...)
	})
}

func (l localLease) LeaseTimeToLive(ctx context.Context, in *pb.LeaseTimeToLiveRequest, opts ...grpc.CallOption) (*pb.LeaseTimeToLiveResponse, error) {
	return call(ctx, l.d, func(c *localConns) (*pb.LeaseTimeToLiveResponse, error) {
		return c.lease.LeaseTimeToLive(ctx, in, opts...)
	})
}

func (l localLease) LeaseLeases(ctx context.Context, in *pb.LeaseLeasesRequest, opts ...grpc.CallOption) (*pb.LeaseLeasesResponse, error) {
	return call(ctx, l.d, func(c *localConns) (*pb.LeaseLeasesResponse, error) { return c.lease.LeaseLeases(ctx, in, opts...) })
}

// blankContext hides a context's values from its String, as etcd's
// v3client does for watches: the watch stream's context reaches the server's
// code, whose logging of it would read values other goroutines write.
type blankContext struct{ context.Context }

func (*blankContext) String() string { return "(blankCtx)" }

// watchWrapper blanks the context of every watch (see blankContext).
type watchWrapper struct{ clientv3.Watcher }

func (ww *watchWrapper) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	return ww.Watcher.Watch(&blankContext{ctx}, key, opts...)
}
