package apiserver_test

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/apiserver"
	"kubelite/internal/auth"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

// heartbeats is a memory store recording heartbeats (store.Heartbeater),
// of registered minions only, as the registry does.
type heartbeats struct {
	*memory.Store
	mu   sync.Mutex
	seen []string
}

func (h *heartbeats) Heartbeat(ctx context.Context, name string) error {
	if _, err := h.Get(ctx, api.Minions, "", name); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen = append(h.seen, name)
	return nil
}

// TestHeartbeatRoute: PUT .../minions/NAME/heartbeat reaches the store's
// Heartbeat for whoever may update minion NAME (its own kubelet, an admin),
// never for another minion's credential; a store that records none answers
// 501 (the kubelet then writes its minion).
func TestHeartbeatRoute(t *testing.T) {
	authn := auth.NewAuthenticator(map[string]auth.User{"admin-token": {Name: auth.Admin},
		"m1-token": {Name: "minion:m1", Groups: []string{auth.MinionsGroup}}}, nil)
	hb := &heartbeats{Store: memory.New()}
	for _, id := range []string{"m1", "m2"} {
		mustCreate(t, hb, &api.Minion{TypeMeta: api.TypeMeta{ID: id}, HostIP: "10.0.0.1"})
	}
	recording := newServer(t, hb, apiserver.Config{Security: &apiserver.Security{Authn: authn}}).Handler()
	plain := newServer(t, seeded(t), apiserver.Config{Security: &apiserver.Security{Authn: authn}}).Handler()
	for _, tc := range []struct {
		name   string
		h      http.Handler
		method string
		path   string
		token  string
		code   int
		reason api.StatusReason
	}{
		{"own minion", recording, "PUT", "/api/v1beta1/minions/m1/heartbeat", "m1-token", 200, ""},
		{"own minion, trailing slash, v1beta2", recording, "PUT", "/api/v1beta2/minions/m1/heartbeat/", "m1-token", 200, ""},
		{"another minion's", recording, "PUT", "/api/v1beta1/minions/m2/heartbeat", "m1-token", 403, api.ReasonForbidden},
		{"admin, any minion", recording, "PUT", "/api/v1beta1/minions/m2/heartbeat", "admin-token", 200, ""},
		{"anonymous", recording, "PUT", "/api/v1beta1/minions/m1/heartbeat", "", 401, api.ReasonUnauthorized},
		{"not registered", recording, "PUT", "/api/v1beta1/minions/m3/heartbeat", "admin-token", 404, api.ReasonNotFound},
		{"GET is not a heartbeat", recording, "GET", "/api/v1beta1/minions/m1/heartbeat", "admin-token", 405, api.ReasonMethodNotAllowed},
		{"pods have none", recording, "PUT", "/api/v1beta1/pods/web/heartbeat", "admin-token", 404, api.ReasonNotFound},
		{"store records none", plain, "PUT", "/api/v1beta1/minions/m1/heartbeat", "m1-token", 501, api.ReasonNotImplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			r.Host = "127.0.0.1:8080"
			r.RemoteAddr = "192.0.2.7:4000"
			r.TLS = &tls.ConnectionState{HandshakeComplete: true}
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			rec := httptest.NewRecorder()
			tc.h.ServeHTTP(rec, r)
			if rec.Code != tc.code || (tc.reason != "" && !strings.Contains(rec.Body.String(), `"reason":"`+string(tc.reason)+`"`)) {
				t.Fatalf("%d %.300s; want %d %s", rec.Code, rec.Body.String(), tc.code, tc.reason)
			}
		})
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if got := strings.Join(hb.seen, ","); got != "m1,m1,m2" {
		t.Fatalf("heartbeats recorded %q, want m1,m1,m2", got)
	}
}

var _ store.Heartbeater = (*heartbeats)(nil)

// Only a minion's heartbeat is critical to the server's listener (a
// reserved in-flight slot, no rate bucket): not a write of the minion, nor
// a read.
func TestHeartbeatIsCritical(t *testing.T) {
	s := newServer(t, seeded(t), apiserver.Config{})
	for _, tt := range []struct {
		method, path string
		want         bool
	}{
		{"PUT", "/api/v1beta1/minions/m1/heartbeat", true},
		{"PUT", "/api/v1beta1/minions/m1/heartbeat/", true},
		{"PUT", "/api/v1beta2/minions/m1/heartbeat", true},
		{"GET", "/api/v1beta1/minions/m1/heartbeat", false},
		{"PUT", "/api/v1beta1/minions/m1", false},
		{"PUT", "/api/v1beta1/pods/heartbeat", false},
		{"POST", "/api/v1beta1/pods", false},
	} {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if got := s.CriticalForTest(r); got != tt.want {
			t.Errorf("%s %s: critical %v, want %v", tt.method, tt.path, got, tt.want)
		}
	}
}

// refusals is a heartbeats store that wants to hear of refused heartbeats
// (store.HeartbeatRefusals), as the master's registry does.
type refusals struct {
	heartbeats
	refused []time.Time
}

func (r *refusals) HeartbeatRefused(at time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = append(r.refused, at)
}

// TestRefusedHeartbeatIsReported: a heartbeat the listener refuses
// unheard (every slot for heartbeats held) is reported to the store, so the
// node controller does not take the silence for the minion's.
func TestRefusedHeartbeatIsReported(t *testing.T) {
	st := &refusals{heartbeats: heartbeats{Store: memory.New()}}
	s := newServer(t, st, apiserver.Config{})
	before := time.Now()
	s.CriticalRefusedForTest(httptest.NewRequest("PUT", "/api/v1beta1/minions/m1/heartbeat", nil))
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.refused) != 1 || st.refused[0].Before(before) {
		t.Fatalf("refusals reported %v, want one at or after %v", st.refused, before)
	}
}
