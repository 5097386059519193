package clustertest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/clock"
	"kubelite/internal/store"
	"kubelite/internal/workqueue"
)

// Minions simulates the kubelets of a set of minions.
type Minions struct {
	st  store.Store
	clk clock.Clock

	mu    sync.Mutex
	index map[string]int  // minion id -> number, for addresses
	dead  map[string]bool // heartbeats and pod updates stopped
	ipSeq map[string]int
}

// NewMinions returns a simulator writing through st.
func NewMinions(st store.Store, clk clock.Clock) *Minions {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Minions{st: st, clk: clk, index: map[string]int{}, dead: map[string]bool{}, ipSeq: map[string]int{}}
}

// Register creates minions that are Ready with a fresh heartbeat; mut, if
// set, edits each before it is created.
func (m *Minions) Register(ctx context.Context, ids []string, mut func(*api.Minion)) error {
	for _, id := range ids {
		m.mu.Lock()
		n, ok := m.index[id]
		if !ok {
			n = len(m.index) + 1
			m.index[id] = n
		}
		m.mu.Unlock()
		mi := &api.Minion{
			TypeMeta: api.TypeMeta{ID: id},
			HostIP:   fmt.Sprintf("10.1.%d.%d", n/250, n%250+1),
			Status:   api.MinionStatus{Condition: api.MinionReady, LastHeartbeat: m.clk.Now()},
		}
		if mut != nil {
			mut(mi)
		}
		if _, err := m.st.Create(ctx, mi); err != nil {
			return fmt.Errorf("register minion %s: %w", id, err)
		}
	}
	return nil
}

// Stop makes a minion go silent: no more heartbeats or pod updates.
func (m *Minions) Stop(id string) {
	m.mu.Lock()
	m.dead[id] = true
	m.mu.Unlock()
}

func (m *Minions) live(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, known := m.index[id]
	return known && !m.dead[id]
}

// Heartbeat posts one heartbeat (LastHeartbeat = now) for every live minion.
func (m *Minions) Heartbeat(ctx context.Context) error {
	m.mu.Lock()
	var ids []string
	for id := range m.index {
		if !m.dead[id] {
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	for _, id := range ids {
		for attempt := 0; attempt < 5; attempt++ {
			obj, err := m.st.Get(ctx, api.Minions, "", id)
			if err != nil {
				return fmt.Errorf("heartbeat %s: %w", id, err)
			}
			mi := obj.(*api.Minion)
			mi.Status.LastHeartbeat = m.clk.Now()
			if _, err = m.st.Update(ctx, mi); err == nil {
				break
			} else if !api.IsConflict(err) {
				return fmt.Errorf("heartbeat %s: %w", id, err)
			}
		}
	}
	return nil
}

// Run posts heartbeats every interval (wall clock; 0 = never) and marks pods
// bound to live minions Running with a fake IP, until ctx ends.
func (m *Minions) Run(ctx context.Context, interval time.Duration) {
	q := workqueue.New(clock.Real{}, 10*time.Millisecond, time.Second)
	inf := store.NewInformer(m.st, api.Pods, store.ListOptions{}, q.Add)
	defer store.StartInformers(ctx, inf)()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		q.Run(ctx, 4, func(ctx context.Context, key string) error { return m.syncPod(ctx, inf, key) })
	}()
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				_ = m.Heartbeat(ctx)
				continue
			case <-ctx.Done():
			}
			break
		}
	}
	<-ctx.Done()
	wg.Wait()
}

func (m *Minions) syncPod(ctx context.Context, inf *store.Informer, key string) error {
	obj, ok := inf.Get(key)
	if !ok {
		return nil
	}
	p := obj.(*api.Pod)
	host := p.DesiredState.Host
	if host == "" || !m.live(host) || p.CurrentState.Phase == api.PodPhaseRunning ||
		p.CurrentState.Phase == api.PodPhaseFailed || p.CurrentState.Phase == api.PodPhaseSucceeded {
		return nil
	}
	m.mu.Lock()
	m.ipSeq[host]++
	ip := fmt.Sprintf("10.2.%d.%d", m.index[host], m.ipSeq[host])
	hostIP := fmt.Sprintf("10.1.%d.%d", m.index[host]/250, m.index[host]%250+1)
	m.mu.Unlock()
	c := api.Copy(p)
	c.CurrentState.Status, c.CurrentState.Phase = api.PodRunning, api.PodPhaseRunning
	c.CurrentState.Host, c.CurrentState.HostIP, c.CurrentState.PodIP = host, hostIP, ip
	c.CurrentState.Reason, c.CurrentState.Message = "", ""
	if _, err := m.st.Update(ctx, c); err != nil && !api.IsNotFound(err) {
		return err // conflict: retry with backoff from the fresh cache
	}
	return nil
}
