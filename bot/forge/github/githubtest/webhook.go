package githubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/imagebot/imagebot/bot/forge/internal/fakeapi"
)

// The fixtures' facts, for assertions.
const (
	RepoFullName = "infra/images"
	RepoID       = 880001
	ForkFullName = "bob/images"
	ForkID       = 880099
	PRNumber     = 7
	HeadSHA      = "4c8d2a6f0b1e3d5c7a9b8e6f4d2c0a1b3e5f7d9c"
	OldSHA       = "9a1b2c3d4e5f60718293a4b5c6d7e8f901234567"
	MergeSHA     = "e0f1a2b3c4d5e6f708192a3b4c5d6e7f80910a1b"
	CommentID    = 1987650001
)

//go:embed testdata/*.json
var fixtures embed.FS

// Edit changes one field of a payload (sjson path syntax, e.g. "comment.body").
type Edit = fakeapi.Edit

// Set is an Edit.
func Set(path string, value any) Edit { return Edit{Path: path, Value: value} }

// Payload returns a fixture from testdata/ with edits applied. The
// fixtures: pull_request_{opened,reopened,synchronize,closed_merged,
// closed_unmerged,draft,fork,edited}, issue_comment_{pr,pr_edited,issue},
// push, push_branch_deleted (all .json).
func Payload(t testing.TB, name string, edits ...Edit) []byte {
	t.Helper()
	return fakeapi.Payload(t, "githubtest", fixtures, name, edits...)
}

// CommentOnPR is issue_comment_pr.json with comment as the body, by user.
func CommentOnPR(t testing.TB, user, comment string) []byte {
	return Payload(t, "issue_comment_pr.json", Set("comment.body", comment),
		Set("comment.user.login", user), Set("sender.login", user))
}

// Sign returns the X-Hub-Signature-256 value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Request builds a webhook delivery as GitHub sends it: POST to url with
// X-GitHub-Event, X-GitHub-Delivery (deliveryID, or a fresh one when "")
// and the HMAC signatures of body under secret.
func Request(t testing.TB, url, secret, event, deliveryID string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("githubtest: webhook request: %v", err)
	}
	if deliveryID == "" {
		deliveryID = NewDeliveryID()
	}
	mac1 := hmac.New(sha1.New, []byte(secret))
	mac1.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "GitHub-Hookshot/8c9d0e1")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", deliveryID)
	req.Header.Set("X-GitHub-Hook-ID", "471234567")
	req.Header.Set("X-GitHub-Hook-Installation-Target-Type", "repository")
	req.Header.Set("X-GitHub-Hook-Installation-Target-ID", "880001")
	req.Header.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac1.Sum(nil)))
	req.Header.Set("X-Hub-Signature-256", Sign(secret, body))
	return req
}

// NewDeliveryID returns a random GUID like GitHub's delivery ids.
func NewDeliveryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fakeapi.GUID(b)
}
