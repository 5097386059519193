package pki

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// tokenPrefix starts every token (the k3s shape).
const tokenPrefix = "K10"

// CAHash is the hex sha256 of caCert's DER encoding.
func CAHash(caCert *x509.Certificate) string {
	sum := sha256.Sum256(caCert.Raw)
	return hex.EncodeToString(sum[:])
}

// FormatToken returns K10<caHash>::<secret>.
func FormatToken(caHash, secret string) string {
	return tokenPrefix + caHash + "::" + secret
}

// Token is a parsed join token.
type Token struct {
	CAHash, Secret string
}

// String formats the token back (FormatToken).
func (t Token) String() string { return FormatToken(t.CAHash, t.Secret) }

// ParseToken parses K10<64 hex digits>::<secret>. Surrounding white space (a
// token file's newline) is ignored; the hash is returned in lower case.
func ParseToken(s string) (Token, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Token{}, errors.New("token is empty")
	}
	if !strings.HasPrefix(s, tokenPrefix) {
		return Token{}, errors.New("token must start with K10 (print it with `kubelite token` on the master)")
	}
	hash, secret, ok := strings.Cut(strings.TrimPrefix(s, tokenPrefix), "::")
	if !ok {
		return Token{}, errors.New("token has no :: between the CA hash and the secret")
	}
	if len(hash) != 2*sha256.Size {
		return Token{}, fmt.Errorf("token CA hash has %d characters, want %d hex digits", len(hash), 2*sha256.Size)
	}
	if _, err := hex.DecodeString(hash); err != nil {
		return Token{}, errors.New("token CA hash is not hexadecimal")
	}
	if secret == "" {
		return Token{}, errors.New("token secret (after ::) is empty")
	}
	if strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return Token{}, errors.New("token secret contains white space or control characters")
	}
	return Token{CAHash: strings.ToLower(hash), Secret: secret}, nil
}

// NewSecret returns 32 random bytes in hex.
func NewSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new secret: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Matches reports whether cert is the CA the token pins (constant-time
// compare of the hash).
func (t Token) Matches(caCert *x509.Certificate) bool {
	if caCert == nil {
		return false
	}
	want := CAHash(caCert)
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(t.CAHash)), []byte(want)) == 1
}
