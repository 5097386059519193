package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"kubelite/internal/clock"
	"kubelite/internal/leader"
	"kubelite/internal/logging"
)

// DefaultElectionPrefix is where the masters' election keys live.
const DefaultElectionPrefix = "/kubelite/leader/"

// ElectionConfig configures an Election.
type ElectionConfig struct {
	// Log is this component's logger, its component field set by the
	// wiring (roles/); nil logs nothing.
	Log *logrus.Entry
	// Prefix of the election's keys (default DefaultElectionPrefix).
	Prefix string
	// Identity names this candidate (for example "host 10.0.0.1:8080"); it
	// must be unique among running masters. Required.
	Identity string
	// TTL is the lease time: a leader that stops renewing is replaced
	// within it. Rounded up to whole seconds, at least 2 s (etcd's
	// minimum); default 5 s.
	TTL time.Duration
}

// Election is a leader.Elector on an etcd lease: the candidate puts its
// identity under Prefix with a lease (as concurrency.Election does, every
// call bounded by the campaign's context), and leads once every older key
// is gone. The lease is kept by leader.KeepLease (renewals every fifth of
// the TTL, a failed or slow one tried again beside it, each
// a keep-alive of its own), and its Term is lost a margin (a fifth of the
// TTL, at most 1 s) before the lease may expire on the server, counted from
// the start of the latest renewal that succeeded, or when the server says
// it has: the next leader, elected only once the server drops the lease,
// never overlaps it. Before every campaign it
// deletes keys that carry its own identity (left by an earlier run of this
// master that was killed, or by a term it lost, whose components have
// stopped before the Gate campaigns again), so a restarted master, or one
// that lost its lease under load, does not wait for its own old lease
// (which a renewal still on its way may have extended).
type Election struct {
	cli *clientv3.Client
	cfg ElectionConfig
	log *logrus.Entry
}

var _ leader.Elector = (*Election)(nil)

// NewElection returns an Election of cli; nothing happens until Campaign.
func NewElection(cli *clientv3.Client, cfg ElectionConfig) (*Election, error) {
	if cfg.Identity == "" {
		return nil, errors.New("election: an identity is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultElectionPrefix
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 5 * time.Second
	}
	cfg.TTL = max(2*time.Second, (cfg.TTL+time.Second-1)/time.Second*time.Second)
	return &Election{cli: cli, cfg: cfg, log: logging.OrDiscard(cfg.Log).WithField("identity", cfg.Identity)}, nil
}

// TTL returns the lease time in use.
func (e *Election) TTL() time.Duration { return e.cfg.TTL }

// margin is how long before the server-side expiry a term counts as lost.
func (e *Election) margin() time.Duration { return min(time.Second, e.cfg.TTL/5) }

// Leader implements leader.Elector: the value of the oldest key.
func (e *Election) Leader(ctx context.Context) (string, error) {
	resp, err := e.cli.Get(ctx, e.cfg.Prefix, clientv3.WithFirstCreate()...)
	if err != nil {
		return "", fmt.Errorf("read leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// reclaim deletes the election keys holding this identity, with their
// leases (an earlier run of this master that did not resign, or a term
// this one lost).
func (e *Election) reclaim(ctx context.Context) {
	resp, err := e.cli.Get(ctx, e.cfg.Prefix, clientv3.WithPrefix())
	if err != nil {
		e.log.WithError(err).Debug("look for an earlier run's election key")
		return
	}
	for _, kv := range resp.Kvs {
		if string(kv.Value) != e.cfg.Identity {
			continue
		}
		e.log.Info("removing this master's earlier election key (an earlier run's, or a term it lost)")
		if kv.Lease != 0 {
			_, _ = e.cli.Revoke(ctx, clientv3.LeaseID(kv.Lease))
		}
		_, _ = e.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(string(kv.Key)), "=", kv.CreateRevision)).
			Then(clientv3.OpDelete(string(kv.Key))).Commit()
	}
}

// Campaign implements leader.Elector. Every etcd call it makes is bounded
// by ctx (and by the lease: a candidate whose lease is lost stops waiting
// in line); on an error the lease is revoked (bounded), which deletes its
// key.
func (e *Election) Campaign(ctx context.Context) (leader.Term, error) {
	e.reclaim(ctx)
	ttl := int64(e.cfg.TTL / time.Second)
	// The server granted the lease after this moment: it lasts at least
	// its TTL from here.
	granting := time.Now()
	grant, err := e.cli.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("grant election lease: %w", err)
	}
	// The term (and the keep-alive) outlive ctx, which only bounds the
	// campaign.
	tctx, cancel := context.WithCancel(context.Background())
	t := &term{e: e, lease: grant.ID, cancel: cancel, lost: make(chan struct{}), done: make(chan struct{})}
	go t.keep(tctx, granting, time.Duration(grant.TTL)*time.Second)
	// The session keeps the lease alive too (its own keep-alive stream),
	// which only renews it more; the term's end is keep's to decide.
	if _, err := concurrency.NewSession(e.cli, concurrency.WithLease(grant.ID), concurrency.WithContext(tctx)); err != nil {
		t.close()
		return nil, fmt.Errorf("election session: %w", err)
	}
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		select {
		case <-t.lost:
			stop()
		case <-cctx.Done():
		}
	}()
	if err := t.campaign(cctx); err != nil {
		t.close()
		select {
		case <-t.lost:
			return nil, errors.New("election lease lost during the campaign")
		default:
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("campaign: %w", err)
	}
	select {
	case <-t.lost:
		t.close()
		return nil, errors.New("election lease lost during the campaign")
	default:
	}
	return t, nil
}

// campaign puts this candidate's key (Prefix and the lease ID in hex, as
// concurrency.Election names it) with the lease, then waits until every
// key created before it is gone: the candidate leads. It is
// concurrency.Election's Campaign without its clean-up on cancellation,
// a resign with the client's context (never done until the client is
// closed: with etcd unreachable, the master's shutdown waited for it); the
// caller revokes the lease instead, with a timeout.
func (t *term) campaign(ctx context.Context) error {
	e := t.e
	key := fmt.Sprintf("%s%x", e.cfg.Prefix, t.lease)
	resp, err := e.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, e.cfg.Identity, clientv3.WithLease(t.lease))).Commit()
	if err != nil {
		return fmt.Errorf("put election key: %w", err)
	}
	if !resp.Succeeded {
		// The lease is new: no key can carry its ID.
		return fmt.Errorf("put election key: %s exists already", key)
	}
	t.key, t.rev = key, resp.Header.Revision
	older := append(clientv3.WithLastCreate(), clientv3.WithMaxCreateRev(t.rev-1))
	for {
		resp, err := e.cli.Get(ctx, e.cfg.Prefix, older...)
		if err != nil {
			return fmt.Errorf("read older candidates: %w", err)
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		if err := waitDelete(ctx, e.cli, string(resp.Kvs[0].Key), resp.Header.Revision); err != nil {
			return err
		}
	}
}

// waitDelete waits until key is deleted at revision rev or later.
func waitDelete(ctx context.Context, cli *clientv3.Client, key string, rev int64) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp := range cli.Watch(wctx, key, clientv3.WithRev(rev)) {
		if err := resp.Err(); err != nil {
			return fmt.Errorf("wait for %s to go: %w", key, err)
		}
		for _, ev := range resp.Events {
			if ev.Type == clientv3.EventTypeDelete {
				return nil
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("wait for %s to go: watch ended", key)
}

func (e *Election) revoke(id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = e.cli.Revoke(ctx, id)
}

// term is one candidacy's lease: leadership once Campaign returned it.
type term struct {
	e      *Election
	lease  clientv3.LeaseID
	key    string // the election key, once put
	rev    int64  // its create revision
	cancel context.CancelFunc
	lost   chan struct{}
	done   chan struct{} // keep returned
	once   sync.Once
}

// keep renews the lease until ctx ends or the lease may have expired on
// the server (leader.KeepLease), then closes lost.
//
// A lost lease is not revoked: the components of the term may still be
// stopping, and the server lets the lease go at its expiry anyway.
func (t *term) keep(ctx context.Context, granted time.Time, ttl time.Duration) {
	defer close(t.done)
	defer t.cancel()
	defer close(t.lost)
	err := leader.KeepLease(ctx, clock.Real{}, t.e.log, leader.LeaseTiming{Margin: t.e.margin()}, granted, ttl,
		leaseRenewer{cli: t.e.cli, id: t.lease})
	if err != nil {
		t.e.log.WithError(err).Warn("election lease not renewed in time")
	}
}

// leaseRenewer is the leader.Renewer of an etcd lease: one keep-alive
// request and its answer, on a stream of its own (a slow one does not hold
// the next up, as on the client's shared keep-alive stream, which the
// server answers in order).
type leaseRenewer struct {
	cli *clientv3.Client
	id  clientv3.LeaseID
}

func (r leaseRenewer) Renew(ctx context.Context) (time.Duration, error) {
	resp, err := r.cli.KeepAliveOnce(ctx, r.id)
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		return 0, fmt.Errorf("renew election lease: %w", leader.ErrLeaseExpired)
	case err != nil:
		return 0, fmt.Errorf("renew election lease: %w", err)
	}
	return time.Duration(resp.TTL) * time.Second, nil
}

// Lost implements leader.Term.
func (t *term) Lost() <-chan struct{} { return t.lost }

// Resign implements leader.Term: delete the key (if it is still this
// term's), revoke the lease.
func (t *term) Resign(ctx context.Context) error {
	var err error
	if t.key != "" {
		_, err = t.e.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)).
			Then(clientv3.OpDelete(t.key)).Commit()
		if err != nil {
			err = fmt.Errorf("resign: %w", err)
		}
	}
	t.close()
	return err
}

// close stops renewing and revokes the lease (best effort, bounded).
func (t *term) close() {
	t.once.Do(func() {
		t.cancel()
		<-t.done
		t.e.revoke(t.lease)
	})
}
