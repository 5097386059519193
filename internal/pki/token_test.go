package pki

import (
	"strings"
	"testing"
)

func TestParseToken(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	tests := []struct {
		name, in string
		want     Token
		errHas   string
	}{
		{"good", "K10" + hash + "::s3cret", Token{hash, "s3cret"}, ""},
		{"newline of a file", "K10" + hash + "::s3cret\n", Token{hash, "s3cret"}, ""},
		{"upper-case hash", "K10" + strings.ToUpper(hash) + "::s", Token{hash, "s"}, ""},
		{"secret with colons (k3s user:password)", "K10" + hash + "::node:pw", Token{hash, "node:pw"}, ""},
		{"empty", "  ", Token{}, "empty"},
		{"no prefix", hash + "::s", Token{}, "must start with K10"},
		{"k3s short token", "K10s3cret", Token{}, "no ::"},
		{"no separator", "K10" + hash + "s", Token{}, "no ::"},
		{"short hash", "K10" + hash[:62] + "::s", Token{}, "62 characters, want 64"},
		{"long hash", "K10" + hash + "00::s", Token{}, "66 characters"},
		{"not hex", "K10" + strings.Repeat("zz", 32) + "::s", Token{}, "not hexadecimal"},
		{"empty secret", "K10" + hash + "::", Token{}, "secret (after ::) is empty"},
		{"space in secret", "K10" + hash + "::a b", Token{}, "white space"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseToken(tc.in)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestTokenMatches(t *testing.T) {
	ca, other := mustCA(t), mustCA(t)
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 64 {
		t.Errorf("secret %q: want 64 hex digits", secret)
	}
	s := FormatToken(CAHash(ca.Cert), secret)
	tok, err := ParseToken(s)
	if err != nil {
		t.Fatal(err)
	}
	if tok.String() != s || tok.Secret != secret {
		t.Errorf("round trip: %q -> %+v", s, tok)
	}
	if !tok.Matches(ca.Cert) {
		t.Error("token does not match its own CA")
	}
	if tok.Matches(other.Cert) {
		t.Error("token matches another CA")
	}
	if tok.Matches(nil) {
		t.Error("token matches nil")
	}
	upper := Token{CAHash: strings.ToUpper(tok.CAHash), Secret: secret}
	if !upper.Matches(ca.Cert) {
		t.Error("upper-case hash does not match")
	}
	s2, _ := NewSecret()
	if s2 == secret {
		t.Error("two secrets are equal")
	}
}
