package store_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sirupsen/logrus"

	"kubelite/internal/api"
	"kubelite/internal/logging"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// failingStore fails its first lists, then lists like the memory store.
type failingStore struct {
	*memory.Store
	fail atomic.Int32 // lists left to fail
}

func (s *failingStore) List(ctx context.Context, res api.Resource, opts store.ListOptions) ([]api.Object, uint64, error) {
	if s.fail.Add(-1) >= 0 {
		return nil, 0, errors.New("dial tcp 127.0.0.1:4001: connect: connection refused")
	}
	return s.Store.List(ctx, res, opts)
}

// An informer that cannot list warns (with its owner's component field),
// and says when it recovered.
func TestInformerWarnsAndRecovers(t *testing.T) {
	st := &failingStore{Store: memory.New()}
	st.fail.Store(3)
	l, buf := logging.Capture(t, logging.Text)
	l.SetLevel(logrus.InfoLevel) // the failures between warnings are debug lines
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inf := store.NewInformer(st, api.Pods, store.ListOptions{}, nil).WithLog(l.WithField("component", "scheduler"))
	done := make(chan struct{})
	go func() { defer close(done); _ = inf.Run(ctx) }()
	if !inf.WaitSynced(ctx) {
		t.Fatal("not synced")
	}
	cancel()
	<-done
	lines := buf.Lines()
	// 3 failures 50 and 100 ms apart: the first warned, the next two within
	// the first second at debug level (unless the machine is so loaded that
	// a second passed: then a "failing since" warning), then the recovery.
	if len(lines) < 2 || len(lines) > 3 {
		t.Fatalf("lines:\n%s\nwant a warning and a recovery", buf)
	}
	lines = []string{lines[0], lines[len(lines)-1]}
	for i, want := range []string{
		`level=warning msg="list and watch pods failed: dial tcp 127.0.0.1:4001: connect: connection refused; check: the store must answer`,
		`level=info msg="list and watch pods recovered after `,
	} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "component=scheduler resource=pods") {
			t.Errorf("line %d: %s\nwant it to hold %s and component=scheduler resource=pods", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[1], "(3 failures)") {
		t.Errorf("recovery line %s: want (3 failures)", lines[1])
	}
}
