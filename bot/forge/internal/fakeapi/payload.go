package fakeapi

import (
	"encoding/hex"
	"io/fs"
	"testing"

	"github.com/tidwall/sjson"
)

// Edit changes one field of a webhook payload (sjson path syntax, e.g.
// "comment.body").
type Edit struct {
	Path  string
	Value any
}

// Payload reads fixture name from fixtures' testdata/ and applies edits,
// failing t (messages prefixed with who) when either goes wrong.
func Payload(t testing.TB, who string, fixtures fs.FS, name string, edits ...Edit) []byte {
	t.Helper()
	b, err := fs.ReadFile(fixtures, "testdata/"+name)
	if err != nil {
		t.Fatalf("%s: fixture %s: %v", who, name, err)
	}
	for _, e := range edits {
		if b, err = sjson.SetBytes(b, e.Path, e.Value); err != nil {
			t.Fatalf("%s: set %s in %s: %v", who, e.Path, name, err)
		}
	}
	return b
}

// GUID writes 16 bytes in the 8-4-4-4-12 hex form of delivery ids.
func GUID(b [16]byte) string {
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
