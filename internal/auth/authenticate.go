package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Authenticator checks bearer tokens and client certificates.
type Authenticator struct {
	tokens []tokenEntry
	cas    *x509.CertPool
	now    func() time.Time
}

type tokenEntry struct {
	sum  [sha256.Size]byte
	user User
}

// NewAuthenticator accepts the given bearer tokens (token -> user) and client
// certificates verified against cas (nil: none accepted). Empty tokens are
// ignored. The map is copied.
func NewAuthenticator(tokens map[string]User, cas *x509.CertPool) *Authenticator {
	a := &Authenticator{cas: cas, now: time.Now}
	for tok, u := range tokens {
		if tok == "" {
			continue
		}
		u.Groups = append([]string(nil), u.Groups...)
		a.tokens = append(a.tokens, tokenEntry{sum: sha256.Sum256([]byte(tok)), user: u})
	}
	return a
}

// Authenticate returns (user, true, nil) when a credential is valid,
// (User{}, false, nil) when none is given, and (User{}, false, err) when one
// is given but wrong.
func (a *Authenticator) Authenticate(r *http.Request) (User, bool, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		u, err := a.token(h)
		if err != nil {
			return User{}, false, err
		}
		return u, true, nil
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		u, err := a.cert(r.TLS.PeerCertificates)
		if err != nil {
			return User{}, false, err
		}
		return u, true, nil
	}
	return User{}, false, nil
}

func (a *Authenticator) token(header string) (User, error) {
	scheme, tok, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return User{}, errors.New("unsupported Authorization scheme: use Bearer <token>")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return User{}, errors.New("empty bearer token")
	}
	sum := sha256.Sum256([]byte(tok))
	found := -1
	for i := range a.tokens {
		// No early exit: every entry is compared.
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return User{}, errors.New("invalid bearer token")
	}
	u := a.tokens[found].user
	u.Groups = append([]string(nil), u.Groups...)
	return u, nil
}

func (a *Authenticator) cert(chain []*x509.Certificate) (User, error) {
	if a.cas == nil {
		return User{}, errors.New("client certificates are not accepted here")
	}
	leaf := chain[0]
	if leaf.IsCA {
		return User{}, fmt.Errorf("client certificate %q is a CA certificate", leaf.Subject.CommonName)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots:         a.cas,
		Intermediates: inter,
		CurrentTime:   a.now(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return User{}, fmt.Errorf("client certificate %q: %w", leaf.Subject.CommonName, err)
	}
	if leaf.Subject.CommonName == "" {
		return User{}, errors.New("client certificate has no common name")
	}
	return User{Name: leaf.Subject.CommonName, Groups: append([]string(nil), leaf.Subject.Organization...)}, nil
}
