package auth

import (
	"crypto/tls"
	"crypto/x509"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"kubelite/internal/pki"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func leaf(t *testing.T, ca *pki.CA, cn string, orgs []string, usage pki.Usage, at time.Time) []*x509.Certificate {
	t.Helper()
	kp, err := ca.Issue(cn, orgs, nil, usage, at)
	if err != nil {
		t.Fatal(err)
	}
	c, err := pki.ParseCertPEM(kp.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return []*x509.Certificate{c}
}

func TestAuthenticate(t *testing.T) {
	ca, err := pki.NewCA("", t0.Add(-3*365*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("", t0)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuthenticator(map[string]User{
		"admintoken":  {Name: Admin},
		"minion1":     MinionUser("m1"),
		"":            {Name: "empty token must never match"},
		"othertoken2": {Name: "bob", Groups: []string{"g"}},
	}, ca.Pool())
	a.now = func() time.Time { return t0 }
	noCAs := NewAuthenticator(nil, nil)

	tests := []struct {
		name    string
		a       *Authenticator
		header  string
		certs   []*x509.Certificate
		want    User
		wantOK  bool
		wantErr string
	}{
		{name: "nothing", a: a},
		{name: "good token", a: a, header: "Bearer admintoken", want: User{Name: Admin}, wantOK: true},
		{name: "lower-case scheme", a: a, header: "bearer minion1", want: MinionUser("m1"), wantOK: true},
		{name: "wrong token", a: a, header: "Bearer admintokeN", wantErr: "invalid bearer token"},
		{name: "prefix of a token", a: a, header: "Bearer admin", wantErr: "invalid bearer token"},
		{name: "empty token", a: a, header: "Bearer ", wantErr: "empty bearer token"},
		{name: "basic auth", a: a, header: "Basic YWRtaW46YWRtaW4=", wantErr: "unsupported Authorization scheme"},
		{name: "token wins over cert", a: a, header: "Bearer othertoken2",
			certs: leaf(t, ca, "minion:m1", nil, pki.ClientAuth, t0), want: User{Name: "bob", Groups: []string{"g"}}, wantOK: true},
		{name: "wrong token with a good cert", a: a, header: "Bearer nope",
			certs: leaf(t, ca, "minion:m1", nil, pki.ClientAuth, t0), wantErr: "invalid bearer token"},
		{name: "cert from the CA", a: a, certs: leaf(t, ca, "minion:m2", []string{MinionsGroup}, pki.ClientAuth, t0.Add(-time.Hour)),
			want: MinionUser("m2"), wantOK: true},
		{name: "client+server cert", a: a, certs: leaf(t, ca, MasterUser, nil, pki.ClientAuth|pki.ServerAuth, t0),
			want: User{Name: MasterUser}, wantOK: true},
		{name: "cert from another CA", a: a, certs: leaf(t, other, Admin, nil, pki.ClientAuth, t0), wantErr: "unknown authority"},
		{name: "expired cert", a: a, certs: leaf(t, ca, Admin, nil, pki.ClientAuth, t0.Add(-pki.LeafValidity-time.Hour)), wantErr: "expired"},
		{name: "server-only cert as client", a: a, certs: leaf(t, ca, Admin, nil, pki.ServerAuth, t0), wantErr: "usage"},
		{name: "CA itself as client", a: a, certs: []*x509.Certificate{ca.Cert}, wantErr: "client certificate"},
		{name: "cert with no CAs configured", a: noCAs, certs: leaf(t, ca, Admin, nil, pki.ClientAuth, t0), wantErr: "not accepted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "https://master/api/v1beta1/pods", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			if tc.certs != nil {
				r.TLS = &tls.ConnectionState{PeerCertificates: tc.certs}
			}
			u, ok, err := tc.a.Authenticate(r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || ok || u.Name != "" {
					t.Fatalf("= %+v, %v, %v; want an error with %q", u, ok, err, tc.wantErr)
				}
				return
			}
			if err != nil || ok != tc.wantOK || u.Name != tc.want.Name || !slices.Equal(u.Groups, tc.want.Groups) {
				t.Fatalf("= %+v, %v, %v; want %+v, %v", u, ok, err, tc.want, tc.wantOK)
			}
		})
	}
}

func TestAuthenticatorCopiesTokens(t *testing.T) {
	tokens := map[string]User{"t": {Name: "x", Groups: []string{"g"}}}
	a := NewAuthenticator(tokens, nil)
	tokens["t"] = User{Name: "changed"}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer t")
	u, _, _ := a.Authenticate(r)
	u.Groups[0] = "mutated"
	u2, ok, err := a.Authenticate(r)
	if err != nil || !ok || u2.Name != "x" || u2.Groups[0] != "g" {
		t.Errorf("= %+v, %v, %v", u2, ok, err)
	}
}

func TestMinionUser(t *testing.T) {
	u := MinionUser("m1")
	if u.Name != "minion:m1" || !slices.Equal(u.Groups, []string{"kubelite:minions"}) {
		t.Errorf("MinionUser = %+v", u)
	}
	for _, tc := range []struct {
		name string
		want string
		ok   bool
	}{{"minion:m1", "m1", true}, {"minion:", "", false}, {"admin", "", false}, {"xminion:m1", "", false}} {
		got, ok := User{Name: tc.name}.MinionName()
		if got != tc.want || ok != tc.ok {
			t.Errorf("%q.MinionName() = %q, %v", tc.name, got, ok)
		}
	}
}
