package gitlabtest

import (
	"bytes"
	"crypto/rand"
	"embed"
	"net/http"
	"testing"

	"github.com/imagebot/imagebot/bot/forge/internal/fakeapi"
)

// Webhook event names, as GitLab sends them in X-Gitlab-Event.
const (
	MergeRequestHook = "Merge Request Hook"
	NoteHook         = "Note Hook"
	PushHook         = "Push Hook"
)

// The fixtures' facts, for assertions.
const (
	ProjectID   = 42
	ProjectPath = "infra/images"
	MRIID       = 7
	HeadSHA     = "4c8d2a6f0b1e3d5c7a9b8e6f4d2c0a1b3e5f7d9c"
	OldSHA      = "9a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
	MergeSHA    = "e0f1a2b3c4d5e6f708192a3b4c5d6e7f80910a1b"
	ForkID      = 99
)

//go:embed testdata/*.json
var fixtures embed.FS

// Edit changes one field of a payload (sjson path syntax, e.g.
// "object_attributes.note").
type Edit = fakeapi.Edit

// Set is an Edit.
func Set(path string, value any) Edit { return Edit{Path: path, Value: value} }

// Payload returns a fixture from testdata/ (e.g. "note_mr.json") with edits
// applied. The fixtures: mr_opened, mr_reopened, mr_updated_commits,
// mr_updated_title, mr_closed, mr_merged, mr_draft, mr_fork, note_mr,
// note_issue, push, push_branch_deleted.
func Payload(t testing.TB, name string, edits ...Edit) []byte {
	t.Helper()
	return fakeapi.Payload(t, "gitlabtest", fixtures, name, edits...)
}

// NoteOnMR is the note_mr.json payload with comment as the note, by user.
func NoteOnMR(t testing.TB, user, comment string) []byte {
	return Payload(t, "note_mr.json", Set("object_attributes.note", comment), Set("user.username", user))
}

// Request builds a webhook delivery as GitLab sends it: POST to url with
// X-Gitlab-Event, X-Gitlab-Token (secret) and X-Gitlab-Event-UUID
// (deliveryID, or a fresh one when ""). Send it with an http.Client or hand
// it to a handler's ServeHTTP.
func Request(t testing.TB, url, secret, event, deliveryID string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("gitlabtest: webhook request: %v", err)
	}
	if deliveryID == "" {
		deliveryID = NewUUID()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitLab/17.6.0")
	req.Header.Set("X-Gitlab-Event", event)
	req.Header.Set("X-Gitlab-Token", secret)
	req.Header.Set("X-Gitlab-Event-UUID", deliveryID)
	req.Header.Set("X-Gitlab-Webhook-UUID", "5b4bd5a4-5f8e-4e55-a4d2-8a0e1c9a6f10")
	req.Header.Set("X-Gitlab-Instance", "http://gitlab.example.com")
	return req
}

// NewUUID returns a random version-4 UUID, like GitLab's event ids.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fakeapi.GUID(b)
}
