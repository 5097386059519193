package registry_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/registry"
	"kubelite/internal/store/memory"
)

// Issue 17 item 3: an RC with replicas 2147483648 was accepted (and made
// 2,900 pods/s); nothing bounded the objects of one namespace.

func rcWith(id string, replicas int) *api.ReplicationController {
	rc := &api.ReplicationController{TypeMeta: api.TypeMeta{ID: id}}
	rc.DesiredState.Replicas = replicas
	rc.DesiredState.ReplicaSelector = map[string]string{"name": "web"}
	rc.DesiredState.PodTemplate.Labels = map[string]string{"name": "web"}
	rc.DesiredState.PodTemplate.DesiredState.Manifest.Containers = []api.Container{{Name: "web", Image: "kubelite/webserver:v1"}}
	return rc
}

func TestHostileReplicas(t *testing.T) {
	r := start(t, memory.New(), registry.Config{MaxReplicas: 100})
	c := ctx(t)
	for _, n := range []int{2147483648, 101} {
		_, err := r.Create(c, rcWith(fmt.Sprintf("big-%d", n), n))
		if code(err) != http.StatusUnprocessableEntity || causes(err) != "desiredState.replicas" {
			t.Errorf("create with %d replicas: %v (code %d, causes %q), want 422 naming desiredState.replicas", n, err, code(err), causes(err))
		}
	}
	out, err := r.Create(c, rcWith("ok", 100))
	if err != nil {
		t.Fatalf("create with 100 replicas: %v", err)
	}
	rc := out.(*api.ReplicationController)
	rc.DesiredState.Replicas = 1 << 40
	if _, err := r.Update(c, rc); code(err) != http.StatusUnprocessableEntity || causes(err) != "desiredState.replicas" {
		t.Errorf("update to 2^40 replicas: %v, want 422 naming desiredState.replicas", err)
	}
	// The default is 10,000.
	r2 := start(t, memory.New(), registry.Config{})
	if _, err := r2.Create(c, rcWith("big", registry.DefaultMaxReplicas+1)); code(err) != http.StatusUnprocessableEntity {
		t.Errorf("default limit: %v", err)
	}
	if _, err := r2.Create(c, rcWith("fine", registry.DefaultMaxReplicas)); err != nil {
		t.Errorf("default limit: %v", err)
	}
}

func TestHostileObjectsPerNamespace(t *testing.T) {
	r := start(t, memory.New(), registry.Config{MaxObjectsPerNamespace: 20})
	c := ctx(t)
	for i := 0; i < 20; i++ {
		if _, err := r.Create(c, pod(fmt.Sprintf("p%d", i))); err != nil {
			t.Fatalf("pod %d: %v", i, err)
		}
	}
	_, err := r.Create(c, pod("one-too-many"))
	if code(err) != http.StatusForbidden || !strings.Contains(err.Error(), `namespace "default" already holds 20 Pod objects`) {
		t.Fatalf("21st pod: %v (code %d), want 403 naming the namespace and the limit", err, code(err))
	}
	// Other kinds and other namespaces have their own count.
	other := pod("elsewhere")
	other.Namespace = "other"
	if _, err := r.Create(c, other); err != nil {
		t.Fatalf("pod in another namespace: %v", err)
	}
	if _, err := r.Create(c, svc("web", "")); err != nil {
		t.Fatalf("a service: %v", err)
	}
	// Deleting makes room again.
	if _, err := r.Delete(c, api.Pods, "default", "p0"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(c, pod("after-delete")); err != nil {
		t.Fatalf("create after a delete: %v", err)
	}
}
