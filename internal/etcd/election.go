package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

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
// identity under Prefix with a lease (concurrency.Election), and leads once
// every older key is gone. Its Term is lost when the lease cannot be
// renewed: a margin (a fifth of the TTL, at most 1 s) before it would expire
// on the server as last renewed, so the next leader, elected only once the
// server drops the lease, never overlaps it. Before its first campaign it
// deletes keys that carry its own identity (left by an earlier run of this
// master that was killed), so a restarted master does not wait for its own
// old lease.
type Election struct {
	cli *clientv3.Client
	cfg ElectionConfig
	log *logrus.Entry

	reclaimOnce sync.Once
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
// leases (an earlier run of this master that did not resign).
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
		e.log.Info("removing the election key of an earlier run of this master")
		if kv.Lease != 0 {
			_, _ = e.cli.Revoke(ctx, clientv3.LeaseID(kv.Lease))
		}
		_, _ = e.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(string(kv.Key)), "=", kv.CreateRevision)).
			Then(clientv3.OpDelete(string(kv.Key))).Commit()
	}
}

// Campaign implements leader.Elector.
func (e *Election) Campaign(ctx context.Context) (leader.Term, error) {
	e.reclaimOnce.Do(func() { e.reclaim(ctx) })
	ttl := int64(e.cfg.TTL / time.Second)
	grant, err := e.cli.Grant(ctx, ttl)
	if err != nil {
		return nil, fmt.Errorf("grant election lease: %w", err)
	}
	granted := time.Now()
	// The term (and the keep-alive) outlive ctx, which only bounds the
	// campaign.
	tctx, cancel := context.WithCancel(context.Background())
	t := &term{e: e, lease: grant.ID, cancel: cancel, lost: make(chan struct{}), done: make(chan struct{})}
	ka, err := e.cli.KeepAlive(tctx, grant.ID)
	if err != nil {
		cancel()
		e.revoke(grant.ID)
		return nil, fmt.Errorf("keep election lease alive: %w", err)
	}
	sess, err := concurrency.NewSession(e.cli, concurrency.WithLease(grant.ID), concurrency.WithContext(tctx))
	if err != nil {
		cancel()
		e.revoke(grant.ID)
		return nil, fmt.Errorf("election session: %w", err)
	}
	t.sess = sess
	go t.watch(ka, granted.Add(time.Duration(grant.TTL)*time.Second))
	t.el = concurrency.NewElection(sess, e.cfg.Prefix)
	if err := t.el.Campaign(ctx, e.cfg.Identity); err != nil {
		t.close()
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

func (e *Election) revoke(id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = e.cli.Revoke(ctx, id)
}

// term is one candidacy's lease: leadership once Campaign returned it.
type term struct {
	e      *Election
	lease  clientv3.LeaseID
	sess   *concurrency.Session
	el     *concurrency.Election
	cancel context.CancelFunc
	lost   chan struct{}
	done   chan struct{} // watch returned
	once   sync.Once
}

// watch closes lost when the keep-alive stops or the lease would expire a
// margin from now on the server (the server renewed it before we heard).
//
// A lost lease is not revoked: the components of the term may still be
// stopping, and the server lets the lease go at its expiry anyway.
func (t *term) watch(ka <-chan *clientv3.LeaseKeepAliveResponse, expiry time.Time) {
	defer close(t.done)
	defer t.cancel()
	defer close(t.lost)
	timer := time.NewTimer(time.Until(expiry) - t.e.margin())
	defer timer.Stop()
	for {
		select {
		case resp, ok := <-ka:
			if !ok {
				return
			}
			if resp.TTL <= 0 {
				return
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(time.Duration(resp.TTL)*time.Second - t.e.margin())
		case <-timer.C:
			t.e.log.Warn("election lease not renewed in time")
			return
		}
	}
}

// Lost implements leader.Term.
func (t *term) Lost() <-chan struct{} { return t.lost }

// Resign implements leader.Term: delete the key, revoke the lease.
func (t *term) Resign(ctx context.Context) error {
	var err error
	if t.el != nil {
		err = t.el.Resign(ctx)
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
