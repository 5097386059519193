package roles

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/store/memory"
	"kubelite/internal/testutil"
)

func TestBannerText(t *testing.T) {
	got := bannerText("http://127.0.0.1:8080", "", "laptop", 1234*time.Millisecond)
	want := `
kubelite standalone is ready (1.2s)
  API:        http://127.0.0.1:8080
  minion:     laptop is Ready
Try:
  kubelite kubectl get minions
  kubelite kubectl create -f testdata/tutorial/apache-pod.json
  kubelite kubectl get pods
Ctrl-C stops it; kubelite standalone --reset wipes its state and containers.

`
	if got != want {
		t.Errorf("banner:\n%s\nwant:\n%s", got, want)
	}
	if other := bannerText("http://127.0.0.1:9090", "", "laptop", time.Second); !strings.Contains(other, "kubelite kubectl -s http://127.0.0.1:9090 get pods") {
		t.Errorf("banner for another port lacks -s:\n%s", other)
	}
	secure := bannerText("https://127.0.0.1:8081", "/srv/k/admin.kubeconfig", "laptop", time.Second)
	for _, want := range []string{"kubeconfig: /srv/k/admin.kubeconfig", "kubelite kubectl --kubeconfig /srv/k/admin.kubeconfig get pods"} {
		if !strings.Contains(secure, want) {
			t.Errorf("secure banner lacks %q:\n%s", want, secure)
		}
	}
	if def := bannerText("https://127.0.0.1:8081", "/var/lib/kubelite/admin.kubeconfig", "laptop", time.Second); !strings.Contains(def, "  kubelite kubectl get pods") {
		t.Errorf("banner with the default kubeconfig should need no flag:\n%s", def)
	}
}

// The banner appears only once the minion is Ready.
func TestReadyBannerWaitsForReady(t *testing.T) {
	st := &countedGets{Store: memory.New()}
	var out testutil.SyncBuffer
	b := &readyBanner{st: st, minion: "laptop", apiURL: "http://127.0.0.1:8080", out: &out, start: time.Now(), poll: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, func() {}) }()

	m := &api.Minion{TypeMeta: api.TypeMeta{ID: "laptop"}, Status: api.MinionStatus{Condition: api.MinionNotReady}}
	created, err := st.Create(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	// Several polls see the minion NotReady (counted, not slept for).
	seen := st.gets.Load()
	testutil.Eventually(t, 5*time.Second, func() bool { return st.gets.Load() >= seen+3 }, "three more polls")
	if out.String() != "" {
		t.Fatalf("banner before Ready: %q", out.String())
	}
	m = created.(*api.Minion)
	m.Status.Condition = api.MinionReady
	if _, err := st.Update(ctx, m); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return strings.Contains(out.String(), "laptop is Ready") }, "the banner")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "is ready"); n != 1 {
		t.Errorf("banner printed %d times:\n%s", n, out.String())
	}
}

// countedGets counts the Gets of a store (the banner's polls).
type countedGets struct {
	*memory.Store
	gets atomic.Int64
}

func (c *countedGets) Get(ctx context.Context, res api.Resource, ns, id string) (api.Object, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, res, ns, id)
}
