package join

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kubelite/internal/api"
	"kubelite/internal/pki"
	"kubelite/internal/store"
	"kubelite/internal/store/memory"
)

var t0 = time.Date(2026, 12, 4, 14, 0, 0, 0, time.UTC)

// master is a join server on a real TLS listener on 127.0.0.1.
type master struct {
	ca     *pki.CA
	store  store.Store
	srv    *httptest.Server
	secret atomic.Value // string
	now    atomic.Value // time.Time, the server's clock
	mu     sync.Mutex
	hits   map[string]int // path -> requests seen
}

func newMaster(t testing.TB, st store.Store) *master {
	t.Helper()
	ca, err := pki.NewCA("test-ca", t0)
	if err != nil {
		t.Fatal(err)
	}
	return serveCA(t, ca, ca, st)
}

// serveCA serves /cacerts of shown and a join server of ca, with a serving
// certificate issued by servingCA.
func serveCA(t testing.TB, ca, servingCA *pki.CA, st store.Store) *master {
	t.Helper()
	if st == nil {
		st = memory.New()
	}
	m := &master{ca: ca, store: st, hits: map[string]int{}}
	m.secret.Store("s3cret")
	m.now.Store(t0)
	js := &Server{CA: ca, Secret: func() string { return m.secret.Load().(string) }, Store: st, Now: func() time.Time { return m.now.Load().(time.Time) }}
	h := js.Handler()
	m.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.hits[r.URL.Path]++
		m.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	kp, err := servingCA.Issue("kubelite-master", nil, []string{"127.0.0.1", "localhost"}, pki.ServerAuth, t0)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := kp.TLS()
	if err != nil {
		t.Fatal(err)
	}
	m.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	m.srv.StartTLS()
	t.Cleanup(m.srv.Close)
	return m
}

func (m *master) token() pki.Token {
	return pki.Token{CAHash: pki.CAHash(m.ca.Cert), Secret: m.secret.Load().(string)}
}

func (m *master) count(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits[path]
}

func (m *master) request(t *testing.T, name string) Request {
	return Request{
		Master: m.srv.URL, Token: m.token(), Name: name, HostIP: "198.18.0.3",
		Hostnames: []string{"Node-A.example", "198.18.0.3"}, Dir: filepath.Join(t.TempDir(), "pki"),
		Now: func() time.Time { return t0 },
	}
}

func (m *master) minion(t *testing.T, name string) *api.Minion {
	t.Helper()
	o, err := m.store.Get(context.Background(), api.Minions, "", name)
	if err != nil {
		t.Fatalf("minion %s: %v", name, err)
	}
	return o.(*api.Minion)
}

func TestJoinGoodToken(t *testing.T) {
	m := newMaster(t, nil)
	req := m.request(t, "m1")
	c, err := Minion(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if c.Reused {
		t.Error("first join reported Reused")
	}
	if !c.CA.Equal(m.ca.Cert) {
		t.Error("returned CA is not the master's")
	}
	leaf := c.Cert.Leaf
	if leaf.Subject.CommonName != "minion:m1" || len(leaf.Subject.Organization) != 1 || leaf.Subject.Organization[0] != MinionsGroup {
		t.Errorf("subject %v", leaf.Subject)
	}
	opts := x509.VerifyOptions{Roots: m.ca.Pool(), CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if _, err := leaf.Verify(opts); err != nil {
		t.Errorf("client use: %v", err)
	}
	opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	for _, host := range []string{"198.18.0.3", "node-a.example", "m1"} {
		opts.DNSName = host
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("serving %s: %v", host, err)
		}
	}
	// Files: 0600 in a 0700 dir.
	if fi, err := os.Stat(req.Dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dir: %v %v", fi.Mode(), err)
	}
	for _, f := range []string{CAFile, CertFile, KeyFile} {
		fi, err := os.Stat(filepath.Join(req.Dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
	// The name is bound to the key.
	mo := m.minion(t, "m1")
	want := map[string]string{
		AnnotationCredential: KeyFingerprint(leaf.RawSubjectPublicKeyInfo),
		AnnotationJoinedFrom: "127.0.0.1",
		AnnotationJoinedAt:   "2026-12-04T14:00:00Z",
	}
	for k, v := range want {
		if mo.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, mo.Annotations[k], v)
		}
	}
	if mo.HostIP != "198.18.0.3" {
		t.Errorf("hostIP %q", mo.HostIP)
	}
}

func TestJoinWrongPinSendsNothing(t *testing.T) {
	m := newMaster(t, nil)
	other, err := pki.NewCA("other", t0)
	if err != nil {
		t.Fatal(err)
	}
	req := m.request(t, "m1")
	req.Token.CAHash = pki.CAHash(other.Cert)
	_, err = Minion(context.Background(), req)
	want := "the master at " + m.srv.URL + " presents a CA with sha256 " + pki.CAHash(m.ca.Cert) +
		", but the token pins " + pki.CAHash(other.Cert) + ": wrong token, or not the master you meant; nothing was sent"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if n := m.count(CACertsPath); n != 1 {
		t.Errorf("%d CA downloads, want 1", n)
	}
	if n := m.count(MinionPath); n != 0 {
		t.Errorf("%d join POSTs after a pin mismatch, want 0", n)
	}
	if _, err := os.Stat(req.Dir); !os.IsNotExist(err) {
		t.Errorf("dir written after a pin mismatch: %v", err)
	}
	if _, err := m.store.Get(context.Background(), api.Minions, "", "m1"); !api.IsNotFound(err) {
		t.Errorf("minion registered: %v", err)
	}
}

// A man in the middle can serve the real CA at /cacerts, but it cannot
// present a serving certificate signed by it: the POST is never sent to it.
func TestJoinRefusesServerNotSignedByPinnedCA(t *testing.T) {
	real, err := pki.NewCA("real", t0)
	if err != nil {
		t.Fatal(err)
	}
	fake, err := pki.NewCA("mitm", t0)
	if err != nil {
		t.Fatal(err)
	}
	m := serveCA(t, real, fake, nil)
	req := m.request(t, "m1")
	_, err = Minion(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "POST "+m.srv.URL+MinionPath) {
		t.Fatalf("err = %v, want a POST failure naming the URL", err)
	}
	if n := m.count(MinionPath); n != 0 {
		t.Errorf("%d POSTs reached a server not signed by the pinned CA", n)
	}
}

func TestJoinMalformedToken(t *testing.T) {
	for _, s := range []string{"", "K10abc::s", "X10" + strings.Repeat("a", 64) + "::s", "K10" + strings.Repeat("z", 64) + "::s", "K10" + strings.Repeat("a", 64) + "::"} {
		if _, err := pki.ParseToken(s); err == nil {
			t.Errorf("ParseToken(%q) accepted", s)
		}
	}
	m := newMaster(t, nil)
	for name, tok := range map[string]pki.Token{
		"empty":     {},
		"no secret": {CAHash: pki.CAHash(m.ca.Cert)},
		"no hash":   {Secret: "s3cret"},
	} {
		req := m.request(t, "m1")
		req.Token = tok
		if _, err := Minion(context.Background(), req); err == nil || !strings.Contains(err.Error(), "no token's") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if n := m.count(CACertsPath) + m.count(MinionPath); n != 0 {
		t.Errorf("%d requests with a malformed token", n)
	}
}

func TestJoinWrongSecret(t *testing.T) {
	m := newMaster(t, nil)
	req := m.request(t, "m1")
	req.Token.Secret = "guess"
	_, err := Minion(context.Background(), req)
	var re *RefusedError
	if !errors.As(err, &re) || re.Code != http.StatusUnauthorized || !strings.Contains(re.Message, "join secret is wrong") {
		t.Fatalf("err = %v, want a 401 refusal", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	if _, err := m.store.Get(context.Background(), api.Minions, "", "m1"); !api.IsNotFound(err) {
		t.Errorf("minion registered with a wrong secret: %v", err)
	}
	if _, err := os.Stat(filepath.Join(req.Dir, CertFile)); !os.IsNotExist(err) {
		t.Errorf("certificate saved after a refusal: %v", err)
	}
}

func TestJoinDuplicateNameFromAnotherKey(t *testing.T) {
	m := newMaster(t, nil)
	if _, err := Minion(context.Background(), m.request(t, "m1")); err != nil {
		t.Fatal(err)
	}
	before := m.minion(t, "m1")
	_, err := Minion(context.Background(), m.request(t, "m1")) // another Dir: another key
	var re *RefusedError
	if !errors.As(err, &re) || re.Code != http.StatusConflict {
		t.Fatalf("err = %v, want a 409 refusal", err)
	}
	for _, part := range []string{
		`minion "m1" is already held by another credential (joined from 127.0.0.1 at 2026-12-04T14:00Z)`,
		"this request from 127.0.0.1 asks for the same name",
		`"kubectl delete minion m1"`,
	} {
		if !strings.Contains(re.Message, part) {
			t.Errorf("message %q lacks %q", re.Message, part)
		}
	}
	if after := m.minion(t, "m1"); after.Annotations[AnnotationCredential] != before.Annotations[AnnotationCredential] {
		t.Error("a refused join changed the binding")
	}
	// Another name from the same second host joins.
	if _, err := Minion(context.Background(), m.request(t, "m2")); err != nil {
		t.Errorf("m2: %v", err)
	}
}

func TestJoinSameKeyAgain(t *testing.T) {
	m := newMaster(t, nil)
	req := m.request(t, "m1")
	first, err := Minion(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	fp := m.minion(t, "m1").Annotations[AnnotationCredential]

	// A restart that lost its certificate rejoins with the saved key.
	if err := os.Remove(filepath.Join(req.Dir, CertFile)); err != nil {
		t.Fatal(err)
	}
	again, err := Minion(context.Background(), req)
	if err != nil {
		t.Fatalf("rejoin with the same key: %v", err)
	}
	if again.Reused || m.count(MinionPath) != 2 {
		t.Errorf("reused=%v posts=%d, want a second join", again.Reused, m.count(MinionPath))
	}
	if !again.Cert.Leaf.PublicKey.(*ecdsa.PublicKey).Equal(first.Cert.Leaf.PublicKey) {
		t.Error("rejoin used a new key")
	}

	// A renewal (less than 30 days left) keeps the key and the binding.
	later := t0.Add(pki.LeafValidity - RenewBefore + time.Hour)
	req.Now = func() time.Time { return later }
	m.now.Store(later)
	renewed, err := Minion(context.Background(), req)
	if err != nil {
		t.Fatalf("renewal: %v", err)
	}
	if renewed.Reused || m.count(MinionPath) != 3 || !renewed.Cert.Leaf.NotAfter.After(first.Cert.Leaf.NotAfter) {
		t.Errorf("reused=%v posts=%d, want a renewal", renewed.Reused, m.count(MinionPath))
	}
	if again, err := Minion(context.Background(), req); err != nil || !again.Reused {
		t.Errorf("after the renewal: reused=%v err=%v", again != nil && again.Reused, err)
	}
	if got := m.minion(t, "m1").Annotations[AnnotationCredential]; got != fp {
		t.Errorf("binding changed: %s -> %s", fp, got)
	}
}

func TestJoinReuseWithoutNetwork(t *testing.T) {
	m := newMaster(t, nil)
	req := m.request(t, "m1")
	first, err := Minion(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	m.srv.Close()
	c, err := Minion(context.Background(), req)
	if err != nil {
		t.Fatalf("reuse with the master down: %v", err)
	}
	if !c.Reused || !c.Cert.Leaf.Equal(first.Cert.Leaf) || !c.CA.Equal(m.ca.Cert) {
		t.Errorf("reused=%v, same cert=%v", c.Reused, c.Cert.Leaf.Equal(first.Cert.Leaf))
	}
	if n := m.count(CACertsPath); n != 1 {
		t.Errorf("%d CA downloads, want 1", n)
	}

	// Another name, or another cluster's token, does not reuse: it needs the
	// master, which is down, and the error says so.
	req.Name = "m2"
	_, err = Minion(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "GET "+m.srv.URL+CACertsPath) || !strings.Contains(err.Error(), "master may not be running") {
		t.Errorf("err = %v", err)
	}
}

func TestJoinRotatedSecret(t *testing.T) {
	m := newMaster(t, nil)
	old := m.token()
	if _, err := Minion(context.Background(), m.request(t, "m1")); err != nil {
		t.Fatal(err)
	}
	m.secret.Store("rotated")
	req := m.request(t, "m2")
	req.Token = old
	var re *RefusedError
	if _, err := Minion(context.Background(), req); !errors.As(err, &re) || re.Code != http.StatusUnauthorized {
		t.Fatalf("old secret after rotation: err = %v, want 401", err)
	}
	req.Token = m.token()
	if _, err := Minion(context.Background(), req); err != nil {
		t.Fatalf("new secret: %v", err)
	}
	// No secret at all refuses every join.
	m.secret.Store("")
	req3 := m.request(t, "m3")
	req3.Token.Secret = "anything"
	if _, err := Minion(context.Background(), req3); !errors.As(err, &re) || re.Code != http.StatusUnauthorized {
		t.Fatalf("empty secret: err = %v, want 401", err)
	}
}

func TestJoinMasterDown(t *testing.T) {
	m := newMaster(t, nil)
	req := m.request(t, "m1")
	m.srv.Close()
	_, err := Minion(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "GET "+m.srv.URL+CACertsPath) || !strings.Contains(err.Error(), "master may not be running") {
		t.Fatalf("err = %v", err)
	}
}

func TestJoinRequestChecks(t *testing.T) {
	m := newMaster(t, nil)
	for name, mod := range map[string]func(*Request){
		"plain http": func(r *Request) { r.Master = strings.Replace(r.Master, "https", "http", 1) },
		"no name":    func(r *Request) { r.Name = "" },
		"no dir":     func(r *Request) { r.Dir = "" },
		"transport":  func(r *Request) { r.Client = &http.Client{Transport: roundTripper(nil)} },
	} {
		req := m.request(t, "m1")
		mod(&req)
		if _, err := Minion(context.Background(), req); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := m.count(MinionPath); n != 0 {
		t.Errorf("%d POSTs", n)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// conflictStore fails the first n Updates with a conflict.
type conflictStore struct {
	store.Store
	n       atomic.Int32
	updates atomic.Int32
}

func (s *conflictStore) Update(ctx context.Context, obj api.Object) (api.Object, error) {
	s.updates.Add(1)
	if s.n.Add(-1) >= 0 {
		return nil, api.NewConflict("minion", obj.Meta().ID, "test")
	}
	return s.Store.Update(ctx, obj)
}

func TestJoinRetriesAConflictOnce(t *testing.T) {
	for _, tc := range []struct {
		conflicts int32
		ok        bool
	}{{1, true}, {2, false}} {
		st := &conflictStore{Store: memory.New()}
		if _, err := st.Create(context.Background(), &api.Minion{TypeMeta: api.TypeMeta{ID: "m1"}}); err != nil {
			t.Fatal(err)
		}
		st.n.Store(tc.conflicts)
		m := newMaster(t, st)
		_, err := Minion(context.Background(), m.request(t, "m1"))
		if (err == nil) != tc.ok {
			t.Errorf("%d conflicts: err = %v", tc.conflicts, err)
		}
		if got := st.updates.Load(); got != 2 {
			t.Errorf("%d conflicts: %d updates, want 2", tc.conflicts, got)
		}
	}
}

func TestLoad(t *testing.T) {
	m := newMaster(t, nil)
	req := m.request(t, "m1")
	c, err := Minion(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("other", t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		tok  pki.Token
		who  string
		now  time.Time
		err  string // "" = reused
	}{
		{"fits", req.Token, "m1", t0, ""},
		{"another name", req.Token, "m2", t0, `is for "minion:m1", not "minion:m2"`},
		{"another cluster's token", pki.Token{CAHash: pki.CAHash(other.Cert), Secret: "x"}, "m1", t0, "the token pins"},
		{"30 days left", req.Token, "m1", c.Cert.Leaf.NotAfter.Add(-RenewBefore), "expires"},
		{"31 days left", req.Token, "m1", c.Cert.Leaf.NotAfter.Add(-RenewBefore - 24*time.Hour), ""},
	} {
		got, err := Load(req.Dir, tc.tok, tc.who, tc.now)
		switch {
		case tc.err == "" && (err != nil || !got.Reused):
			t.Errorf("%s: err = %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
		}
	}
	// A key that does not pair with the certificate is not reused.
	if err := os.WriteFile(filepath.Join(req.Dir, KeyFile), mustKey(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(req.Dir, req.Token, "m1", t0); err == nil || !strings.Contains(err.Error(), "does not pair") {
		t.Errorf("mismatched key: err = %v", err)
	}
}

func mustKey(t *testing.T) []byte {
	t.Helper()
	_, key, err := pki.NewCSR("x")
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// BenchmarkJoin measures a first join over TLS on loopback: CA download,
// pin check, key and CSR, POST, signing, binding in the memory store,
// files saved.
func BenchmarkJoin(b *testing.B) {
	ca, err := pki.NewCA("bench-ca", t0)
	if err != nil {
		b.Fatal(err)
	}
	m := serveCA(b, ca, ca, nil)
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		req := Request{Master: m.srv.URL, Token: m.token(), Name: "m" + strconv.Itoa(i), HostIP: "198.18.0.3",
			Dir: filepath.Join(dir, strconv.Itoa(i)), Now: func() time.Time { return t0 }}
		if _, err := Minion(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// Several masters share the CA and the store: the join goes through the
// first that answers; when none does the error names each; a master that
// refuses ends the join (the next is not tried).
func TestJoinSeveralMasters(t *testing.T) {
	st := memory.New()
	m1 := newMaster(t, st)
	m2 := serveCA(t, m1.ca, m1.ca, st)
	m3 := serveCA(t, m1.ca, m1.ca, st)
	m1.srv.Close()

	req := m1.request(t, "n1")
	req.Others = []string{m2.srv.URL, m3.srv.URL}
	if _, err := Minion(context.Background(), req); err != nil {
		t.Fatalf("join with m1 down: %v", err)
	}
	if m2.count(MinionPath) != 1 || m3.count(MinionPath) != 0 {
		t.Fatalf("joins seen: m2 %d, m3 %d; want the first master up (m2) only", m2.count(MinionPath), m3.count(MinionPath))
	}
	m1.minion(t, "n1")

	m2.secret.Store("other")
	req = m1.request(t, "n2")
	req.Others = []string{m2.srv.URL, m3.srv.URL}
	var re *RefusedError
	if _, err := Minion(context.Background(), req); !errors.As(err, &re) || re.Code != http.StatusUnauthorized || m3.count(MinionPath) != 0 {
		t.Fatalf("m2 refuses: got %v, m3 saw %d joins; want the refusal and no try on m3", err, m3.count(MinionPath))
	}

	m2.srv.Close()
	m3.srv.Close()
	req = m1.request(t, "n3")
	req.Others = []string{m2.srv.URL, m3.srv.URL}
	_, err := Minion(context.Background(), req)
	var oe *net.OpError
	if err == nil || !errors.As(err, &oe) || !strings.Contains(err.Error(), "none of the 3 masters could be reached") {
		t.Fatalf("all down: %v", err)
	}
	for _, m := range []*master{m1, m2, m3} {
		if !strings.Contains(err.Error(), m.srv.URL) {
			t.Errorf("all down: %q does not name %s", err, m.srv.URL)
		}
	}
	req.Others = []string{"http://m2:8080"}
	if _, err := Minion(context.Background(), req); err == nil || !strings.Contains(err.Error(), "want https://host:port") {
		t.Fatalf("plain http other master: %v", err)
	}
}
