package scheduler

import (
	"context"
	"fmt"

	"kubelite/internal/api"
)

// bind creates the pod's api.Binding to host (the registry checks the fit
// again and sets desiredState.host by compare-and-swap).
func (s *Scheduler) bind(ctx context.Context, p *api.Pod, host string) error {
	b := &api.Binding{TypeMeta: api.TypeMeta{ID: p.ID, Namespace: p.Namespace}, PodID: p.ID, Host: host}
	if _, err := s.st.Create(ctx, b); err != nil {
		return fmt.Errorf("bind pod %s to %s: %w", p.ID, host, err)
	}
	return nil
}

// markUnschedulable writes the reason on the pod unless it is already there.
func (s *Scheduler) markUnschedulable(ctx context.Context, p *api.Pod, msg string) {
	if p.CurrentState.Reason == ReasonUnschedulable && p.CurrentState.Message == msg {
		return
	}
	c := api.Copy(p)
	c.CurrentState.Reason, c.CurrentState.Message = ReasonUnschedulable, msg
	if c.CurrentState.Phase == "" {
		c.CurrentState.Phase = api.PodPhasePending
	}
	if _, err := s.st.Update(ctx, c); err != nil {
		s.log.WithError(err).WithField("pod", api.Key(p)).Debug("write unschedulable reason")
	}
}

// clearUnschedulable removes a stale Unschedulable reason after a bind.
func (s *Scheduler) clearUnschedulable(ctx context.Context, key string) {
	k := api.ParseKey(key)
	for i := 0; i < 3; i++ {
		obj, err := s.st.Get(ctx, api.Pods, k.Namespace, k.ID)
		if err != nil {
			return
		}
		p := obj.(*api.Pod)
		if p.CurrentState.Reason != ReasonUnschedulable {
			return
		}
		p.CurrentState.Reason, p.CurrentState.Message = "", ""
		if _, err := s.st.Update(ctx, p); err == nil || !api.IsConflict(err) {
			return
		}
	}
}
