package intake

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadBody: a pooled buffer holds exactly this delivery's bytes whatever
// the one before it held, with or without a declared length, and a body
// over the limit is an error.
func TestReadBody(t *testing.T) {
	big := strings.Repeat("x", maxWebhookBody+1)
	for _, tc := range []struct {
		name    string
		body    string
		chunked bool // no Content-Length, as a sender that streams
		wantErr bool
	}{
		{name: "long first, fills the buffer", body: strings.Repeat("a", 9000)},
		{name: "short after long", body: `{"object_kind":"note"}`},
		{name: "empty", body: ""},
		{name: "chunked", body: strings.Repeat("b", 70000), chunked: true},
		{name: "declared length", body: strings.Repeat("c", 3000)},
		{name: "over the limit", body: big, chunked: true, wantErr: true},
		{name: "after an error", body: "d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rd io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(rd) // hides the length from NewRequest
			}
			r := httptest.NewRequest(http.MethodPost, "/webhooks/gitlab", rd)
			if tc.chunked && r.ContentLength > 0 {
				t.Fatalf("request declares %d bytes", r.ContentLength)
			}
			got, free, err := readBody(httptest.NewRecorder(), r)
			defer free()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("read %d bytes over the %d-byte limit without error", len(got), maxWebhookBody)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, []byte(tc.body)) {
				t.Fatalf("read %d bytes %.20q, want %d bytes %.20q", len(got), got, len(tc.body), tc.body)
			}
		})
	}
}
