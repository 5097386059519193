package apiserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/registry"
	"kubelite/internal/store/memory"
)

// The server's own share of a pod create: the handler chain, decoding,
// defaults, validation, admission, the registry and the answer, over a
// memory store, without the network (`kubelite bench --only api-write`
// measures it with etcd and the client):
//
//	go test -run '^$' -bench CreatePodServer -benchmem ./internal/apiserver/

// benchPodBody is the JSON a client sends for the bench's pod (the one of
// internal/bench: 12 env vars, a port, limits).
func benchPodBody(tb testing.TB, id string) []byte {
	env := make([]api.EnvVar, 0, 12)
	for i := 0; i < 12; i++ {
		env = append(env, api.EnvVar{Name: fmt.Sprintf("BENCH_SETTING_%02d", i), Value: strings.Repeat("v", 40)})
	}
	p := &api.Pod{
		TypeMeta: api.TypeMeta{ID: id, Namespace: api.DefaultNamespace, Labels: map[string]string{"bench": "write"}},
		DesiredState: api.PodState{Manifest: api.ContainerManifest{Version: "v1beta1", ID: id,
			Containers: []api.Container{{Name: "web", Image: "kubelite/webserver:v1", CPU: 10, Memory: 1 << 20,
				Ports: []api.Port{{ContainerPort: 80}}, Env: env}}}},
	}
	b, err := json.Marshal(p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func BenchmarkCreatePodServer(b *testing.B) {
	reg, err := registry.New(memory.New(), registry.Config{})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := apiserver.New(apiserver.Config{Store: reg})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = benchPodBody(b, fmt.Sprintf("bench-%d", i))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, "/api/v1beta1/pods?namespace=default", bytes.NewReader(bodies[i]))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("create %d: %d %s", i, rec.Code, rec.Body)
		}
	}
}
