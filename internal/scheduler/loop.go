package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/fit"
	"kubelite/internal/metrics"
)

var errUnschedulable = errors.New("fits no minion")

// Sync schedules the pod with key: the loop's unit of work, exported for tests.
func (s *Scheduler) Sync(ctx context.Context, key string) error { return s.sync(ctx, key) }

func (s *Scheduler) sync(ctx context.Context, key string) error {
	a := s.decide(key)
	if a == nil {
		return nil
	}
	return s.apply(ctx, a)
}

// action is what a decision asks the bind workers to do.
type action struct {
	key  string
	pod  *api.Pod
	host string // bind here; "" = unschedulable with msg
	msg  string
	// start is when the decision began (scheduler_e2e_scheduling_duration_seconds).
	start time.Time
}

// decide chooses a minion for the pod with key under the lock and assumes
// it there; nil means there is nothing to do.
func (s *Scheduler) decide(key string) *action {
	obj, ok := s.pods.Get(key)
	if !ok {
		return nil
	}
	p := obj.(*api.Pod)
	if p.DesiredState.Host != "" || fit.Terminated(p) {
		return nil
	}
	start := time.Now()
	pi := fit.NewPodInfo(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounted[key]; ok && a.host != "" {
		return nil // bound or being bound
	}
	nodes := s.candidatesLocked()
	var counts [][]int32
	for _, k := range s.spreadKeysForLocked(p) {
		if c := s.groupCounts[k]; len(c) > 0 {
			counts = append(counts, c)
		}
	}
	spread := func(j int) int {
		i, sum := s.candIdx[j], 0
		for _, c := range counts {
			if int(i) < len(c) {
				sum += int(c[i])
			}
		}
		return sum
	}
	host, reasons, next := scheduleInfo(pi, nodes, spread, func(j int) uint64 { return s.candHash[j] }, s.cfg.Seed, feasibleToFind(len(nodes)), s.nextStart)
	s.nextStart = next
	if host == "" {
		s.unschedulable[key] = p
		return &action{key: key, pod: p, msg: fit.Summarize(len(nodes), reasons), start: start}
	}
	s.addLocked(host, p)
	s.accounted[key] = accounted{host: host, pod: p, assumed: true}
	delete(s.unschedulable, key)
	return &action{key: key, pod: p, host: host, start: start}
}

// apply performs a decision: the binding, or the unschedulable reason and
// event. An error asks for a retry with backoff.
func (s *Scheduler) apply(ctx context.Context, a *action) error {
	p, key, host := a.pod, a.key, a.host
	if host == "" {
		metrics.SchedulerAttempts.WithLabelValues("unschedulable").Inc()
		s.markUnschedulable(ctx, p, a.msg)
		s.rec.Record(ctx, p, EventFailedScheduling, a.msg)
		s.log.WithField("pod", key).Debug(a.msg)
		return fmt.Errorf("schedule pod %s: %w: %s", key, errUnschedulable, a.msg)
	}
	if err := s.bind(ctx, p, host); err != nil {
		s.mu.Lock()
		if acc, ok := s.accounted[key]; ok && acc.assumed && acc.host == host {
			s.removeLocked(host, acc.pod)
			delete(s.accounted, key)
		}
		s.mu.Unlock()
		if api.IsNotFound(err) {
			return nil // the pod is gone
		}
		metrics.SchedulerAttempts.WithLabelValues("error").Inc()
		s.log.WithError(err).WithField("pod", key).Debug("bind failed; requeued")
		return err
	}
	metrics.SchedulerAttempts.WithLabelValues("scheduled").Inc()
	metrics.SchedulerE2E.Observe(time.Since(a.start).Seconds())
	s.rec.Record(ctx, p, EventScheduled, fmt.Sprintf("Successfully assigned %s to %s", p.ID, host))
	if p.CurrentState.Reason == ReasonUnschedulable {
		s.clearUnschedulable(ctx, key)
	}
	return nil
}

// loop is the decider: one goroutine takes keys and decides, so decisions
// never wait on each other's locks; Workers goroutines apply them.
func (s *Scheduler) loop(ctx context.Context) {
	actions := make(chan *action, s.cfg.Workers)
	finish := func(key string, err error) {
		if err != nil && ctx.Err() == nil {
			s.queue.AddRateLimited(key)
		} else {
			s.queue.Forget(key)
		}
		s.queue.Done(key)
	}
	var wg sync.WaitGroup
	for i := 0; i < s.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range actions {
				finish(a.key, s.apply(ctx, a))
			}
		}()
	}
	go func() {
		<-ctx.Done()
		s.queue.ShutDown()
	}()
	for {
		key, ok := s.queue.Get()
		if !ok {
			break
		}
		a := s.decide(key)
		if a == nil {
			finish(key, nil)
			continue
		}
		actions <- a
	}
	close(actions)
	wg.Wait()
}
