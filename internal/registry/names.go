package registry

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
)

const nameChars = "abcdefghijklmnopqrstuvwxyz0123456789"

// suffixLen is how many random characters a generated name gets.
const suffixLen = 5

// maxPrefixLen keeps generated names within a DNS-1123 label.
const maxPrefixLen = 63 - suffixLen

func randomSuffix() string {
	b := make([]byte, suffixLen)
	for i := range b {
		b[i] = nameChars[mrand.IntN(len(nameChars))]
	}
	return string(b)
}

// generateName returns prefix (cut to fit a DNS label) plus a random suffix.
func generateName(prefix string) string {
	if len(prefix) > maxPrefixLen {
		prefix = prefix[:maxPrefixLen]
	}
	return prefix + randomSuffix()
}

// newUID returns a random (version 4) UUID.
func newUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand does not fail on Linux; fall back to math/rand rather than panic.
		for i := range b {
			b[i] = byte(mrand.IntN(256))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
