package etcd

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"kubelite/internal/logging"
)

// leaderMover is what Spread needs of an etcd client (*clientv3.Client has it).
type leaderMover interface {
	Status(ctx context.Context, endpoint string) (*clientv3.StatusResponse, error)
	MemberList(ctx context.Context, opts ...clientv3.OpOption) (*clientv3.MemberListResponse, error)
	MoveLeader(ctx context.Context, transfereeID uint64) (*clientv3.MoveLeaderResponse, error)
}

// Spread keeps etcd's leadership off the master that runs the scheduler and
// controllers: run on that master only (it is one of the components the
// leader gate starts), it checks every Interval whether this master's etcd
// member leads etcd's raft and, if another member has started, hands raft
// leadership over to it (etcd's MoveLeader, a graceful transfer).
//
// Why: etcd renews every lease when its raft leader changes. A master that
// held both leaderships and died made the others wait for a new raft leader
// and then for a whole lease more (7.5 s with a 5 s lease, measured on the
// lab); apart, the death of one master costs one election, and the lease
// takeover stays within the lease.
type Spread struct {
	Client   leaderMover
	Endpoint string        // this master's etcd member's client URL (its own, local etcd)
	Interval time.Duration // default 2s
	Log      *logrus.Entry
}

// NewSpread returns a Spread of cli's first endpoint (the master's own etcd).
func NewSpread(cli *clientv3.Client, log *logrus.Entry) *Spread {
	ep := ""
	if eps := cli.Endpoints(); len(eps) > 0 {
		ep = eps[0]
	}
	return &Spread{Client: cli, Endpoint: ep, Log: log}
}

// Name implements component.Component.
func (s *Spread) Name() string { return "etcd-leader-spread" }

// Run implements component.Component: a level-triggered loop until ctx ends.
func (s *Spread) Run(ctx context.Context, started func()) error {
	started()
	every := s.Interval
	if every <= 0 {
		every = 2 * time.Second
	}
	log := logging.OrDiscard(s.Log)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if moved, err := s.Once(ctx); err != nil {
			log.WithError(err).Debug("keep etcd's leadership off the controllers' master")
		} else if moved != 0 {
			log.WithField("to", fmt.Sprintf("%x", moved)).Info("moved etcd's raft leadership to another master: one master's death then costs one election, not two")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once moves etcd's leadership away if this master's member holds it and
// another member has started; it returns the member it moved it to (0:
// nothing to do). Members are tried in the order etcd lists them; one that
// does not take over within 3 s is skipped.
func (s *Spread) Once(ctx context.Context) (uint64, error) {
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	st, err := s.Client.Status(sctx, s.Endpoint)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("status of %s: %w", s.Endpoint, err)
	}
	if st.Header == nil || st.Leader != st.Header.MemberId {
		return 0, nil
	}
	self := st.Header.MemberId
	lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	ml, err := s.Client.MemberList(lctx)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("list members: %w", err)
	}
	var errs []error
	for _, m := range ml.Members {
		if m.ID == self || m.IsLearner || len(m.ClientURLs) == 0 {
			continue // itself, a learner, or one that never started
		}
		mctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := s.Client.MoveLeader(mctx, m.ID)
		cancel()
		if err == nil {
			return m.ID, nil
		}
		errs = append(errs, fmt.Errorf("move leadership to %s: %w", m.Name, err))
	}
	if len(errs) > 0 {
		return 0, errs[len(errs)-1]
	}
	return 0, nil
}
