package masterjoin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A join request's body: one too large is a 413 (whatever the JSON
// decoder makes of a cut body), one with an unknown key or not JSON a 400,
// and nothing reaches etcd for any of them.
func TestJoinBodies(t *testing.T) {
	added := 0
	s := &Server{
		Secret:    func() string { return "s" },
		AddMember: func(context.Context, string, string) (string, error) { added++; return "", nil },
		Files:     func() (map[string][]byte, error) { return nil, nil },
	}
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"too large", `{"name":"m2","peerURL":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, http.StatusRequestEntityTooLarge},
		{"unknown key", `{"name":"m2","peerURL":"http://127.0.0.1:7002","extra":1}`, http.StatusBadRequest},
		{"not JSON", `name=m2`, http.StatusBadRequest},
	} {
		r := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(tc.body))
		r.Header.Set("Authorization", "Bearer s")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		if w.Code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.code)
		}
	}
	if added != 0 {
		t.Errorf("%d members added for refused bodies", added)
	}
}
