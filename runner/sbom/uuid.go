package sbom

import (
	"crypto/sha256"
	"fmt"
)

// uuidFrom derives a version-5-style UUID from s, so the same build always
// gets the same serial number (an SBOM rebuilt from the same inventory is
// byte-identical apart from its timestamp).
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
