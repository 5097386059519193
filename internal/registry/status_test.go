package registry_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/testutil"
)

// TestWritePodStatus: a status write replaces currentState alone, whatever
// else its pod says; it is a compare-and-swap on the version named (or on
// the version read, for 0); allow sees the very pod it replaces and its
// refusal writes nothing; once the informer holds the version named the
// store is not read.
func TestWritePodStatus(t *testing.T) {
	raw, r, c := withPod(t)
	if err := bind(r, c, "p", "m1"); err != nil {
		t.Fatal(err)
	}
	stored := func() *api.Pod {
		t.Helper()
		o, err := r.Get(c, api.Pods, api.DefaultNamespace, "p")
		if err != nil {
			t.Fatal(err)
		}
		return o.(*api.Pod)
	}
	write := func(rv uint64, msg string, allow func(*api.Pod) error) (*api.Pod, error) {
		in := pod("p") // its desired state and labels differ from the stored pod's
		in.Labels = map[string]string{"name": "relabelled"}
		in.DesiredState.Host = "m9"
		in.ResourceVersion = rv
		in.CurrentState = api.PodState{Status: api.PodRunning, Host: "m1", Message: msg}
		return r.WritePodStatus(c, in, allow)
	}

	before := stored()
	out, err := write(before.ResourceVersion, "one", nil)
	if err != nil {
		t.Fatal(err)
	}
	after := stored()
	if after.CurrentState.Message != "one" || after.CurrentState.Status != api.PodRunning {
		t.Errorf("currentState after the write: %+v", after.CurrentState)
	}
	if after.Labels["name"] != "web" || after.DesiredState.Host != "m1" || after.UID != before.UID {
		t.Errorf("the status write changed more: labels %v host %q uid %q (was %q)", after.Labels, after.DesiredState.Host, after.UID, before.UID)
	}
	if out.ResourceVersion != after.ResourceVersion || out.ResourceVersion <= before.ResourceVersion {
		t.Errorf("returned version %d, stored %d, before %d", out.ResourceVersion, after.ResourceVersion, before.ResourceVersion)
	}

	// Stale: refused, nothing written.
	if _, err := write(before.ResourceVersion, "stale", nil); code(err) != http.StatusConflict {
		t.Errorf("write at a replaced version: %v, want 409", err)
	}
	// Refused by allow, which sees the pod as stored.
	var seen *api.Pod
	no := errors.New("not yours")
	if _, err := write(after.ResourceVersion, "refused", func(p *api.Pod) error { seen = p; return no }); !errors.Is(err, no) {
		t.Errorf("write refused by allow: %v, want its error", err)
	}
	if seen == nil || seen.DesiredState.Host != "m1" || seen.ResourceVersion != after.ResourceVersion {
		t.Errorf("allow saw %+v, want the stored pod at version %d", seen, after.ResourceVersion)
	}
	if got := stored(); got.CurrentState.Message != "one" || got.ResourceVersion != after.ResourceVersion {
		t.Errorf("after refused writes: message %q version %d, want %q at %d", got.CurrentState.Message, got.ResourceVersion, "one", after.ResourceVersion)
	}
	// Unconditional: written over whatever is stored.
	if _, err := write(0, "any", nil); err != nil {
		t.Fatalf("unconditional write: %v", err)
	}
	if got := stored(); got.CurrentState.Message != "any" {
		t.Errorf("after the unconditional write: message %q", got.CurrentState.Message)
	}
	// At the informer's version: one compare-and-swap, no read.
	i := 0
	testutil.Eventually(t, 10*time.Second, func() error {
		i++
		rv := stored().ResourceVersion
		n := raw.gets.Load()
		if _, err := write(rv, fmt.Sprint("cached ", i), nil); err != nil {
			return err
		}
		if d := raw.gets.Load() - n; d != 0 {
			return fmt.Errorf("a status write at version %d read the store %d times", rv, d)
		}
		return nil
	}, "a status write at the informer's version without a read")
	// Missing pod, missing id.
	in := pod("gone")
	in.ResourceVersion = 1
	if _, err := r.WritePodStatus(c, in, nil); code(err) != http.StatusNotFound {
		t.Errorf("status of a missing pod: %v, want 404", err)
	}
	if _, err := r.UpdatePodStatus(c, &api.Pod{}); code(err) != http.StatusUnprocessableEntity {
		t.Errorf("status without an id: %v, want 422", err)
	}
}
