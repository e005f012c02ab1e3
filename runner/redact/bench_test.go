package redact

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkString masks a typical Packer output line with a deployment's
// worth of secrets (forge tokens, webhook secrets, store keys, database URL,
// a few sensitive variables).
func BenchmarkString(b *testing.B) {
	var secrets []string
	for i := 0; i < 12; i++ {
		secrets = append(secrets, fmt.Sprintf("secret-value-%02d-%s", i, strings.Repeat("x", 16)))
	}
	r := New(secrets...)
	line := "1764760000,qemu.base,ui,message,    qemu.base: Setting up linux-image-amd64 (6.1.115-1) ... with secret-value-03-" + strings.Repeat("x", 16)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.String(line)
	}
}
