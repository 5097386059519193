package masterjoin

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/join"
	"kubelite/internal/pki"
)

// master is a running master's identity and its join endpoints over TLS.
type master struct {
	id     *pki.Identity
	srv    *httptest.Server
	posts  atomic.Int32
	addErr error
}

func newMaster(t *testing.T) *master {
	t.Helper()
	dir := t.TempDir()
	id, err := pki.LoadOrCreate(dir, pki.Options{Hosts: func() ([]string, error) { return []string{"127.0.0.1"}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	m := &master{id: id}
	secret := func() string { tok, _ := pki.ParseToken(id.MasterToken); return tok.Secret }
	js := &Server{
		Secret: secret,
		AddMember: func(_ context.Context, name, peer string) (string, error) {
			if m.addErr != nil {
				return "", m.addErr
			}
			return "kubelite=http://127.0.0.1:7001," + name + "=" + peer, nil
		},
		Files: func() (map[string][]byte, error) { return ReadFiles(dir) },
	}
	mux := http.NewServeMux()
	mux.HandleFunc(join.CACertsPath, func(w http.ResponseWriter, r *http.Request) { w.Write(id.CA.CertPEM) })
	mux.HandleFunc(Path, func(w http.ResponseWriter, r *http.Request) { m.posts.Add(1); js.Handler().ServeHTTP(w, r) })
	m.srv = httptest.NewUnstartedServer(mux)
	m.srv.TLS = &tls.Config{Certificates: []tls.Certificate{id.Serving}}
	m.srv.StartTLS()
	t.Cleanup(m.srv.Close)
	return m
}

func (m *master) addr() string { return strings.TrimPrefix(m.srv.URL, "https://") }

func TestJoin(t *testing.T) {
	m := newMaster(t)
	ctx := context.Background()
	other, err := pki.NewCA("other", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	good, _ := pki.ParseToken(m.id.MasterToken)
	minionTok, _ := pki.ParseToken(m.id.JoinToken)
	cases := []struct {
		name    string
		token   string
		member  string
		addErr  error
		code    int    // a refusal's code; 0: success
		errText string // else an error containing this
		posted  bool
	}{
		{name: "master token", token: m.id.MasterToken, member: "m2"},
		{name: "the minions' token", token: minionTok.String(), member: "m2", code: 401, posted: true},
		{name: "a token of another CA", token: pki.FormatToken(pki.CAHash(other.Cert), good.Secret), member: "m2", errText: "does not match the master token (sent nothing)"},
		{name: "bad member name", token: m.id.MasterToken, member: "M_2", code: 422, posted: true},
		{name: "etcd refuses the member", token: m.id.MasterToken, member: "m2", addErr: errors.New("etcdserver: unhealthy cluster"), code: 503, posted: true},
		{name: "member exists", token: m.id.MasterToken, member: "m2", addErr: errors.New("etcdserver: Peer URLs already exists"), code: 409, posted: true},
		{name: "malformed token", token: "K10nonsense", member: "m2", errText: "master token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m.posts.Store(0)
			m.addErr = tc.addErr
			resp, err := Join(ctx, JoinRequest{Master: m.addr(), Token: tc.token, Name: tc.member, PeerURL: "http://127.0.0.1:7002", Timeout: 10 * time.Second})
			if posted := m.posts.Load() > 0; posted != (tc.posted || (tc.code == 0 && tc.errText == "")) {
				t.Fatalf("posted %v", posted)
			}
			var ref *RefusedError
			switch {
			case tc.code != 0:
				if !errors.As(err, &ref) || ref.Code != tc.code {
					t.Fatalf("got %v, want a %d refusal", err, tc.code)
				}
			case tc.errText != "":
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("got %v, want an error containing %q", err, tc.errText)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if resp.InitialCluster != "kubelite=http://127.0.0.1:7001,m2=http://127.0.0.1:7002" {
					t.Fatalf("initial cluster %q", resp.InitialCluster)
				}
				// The new master's data dir now holds the same identity.
				dir := t.TempDir()
				if err := WriteFiles(dir, resp.Files); err != nil {
					t.Fatal(err)
				}
				id, err := pki.LoadOrCreate(dir, pki.Options{Hosts: func() ([]string, error) { return []string{"10.9.9.9"}, nil }})
				if err != nil {
					t.Fatal(err)
				}
				if string(id.CA.CertPEM) != string(m.id.CA.CertPEM) || id.JoinToken != m.id.JoinToken || id.MasterToken != m.id.MasterToken || id.AdminToken != m.id.AdminToken {
					t.Fatal("the joined master's identity differs from the running master's")
				}
			}
		})
	}
}
