// Package forge owns what the bot knows of a code forge (GitLab, GitHub):
// the events it receives, the calls it makes, and the Forge interface that
// the adapters in forge/gitlab and forge/github implement. The bot core
// depends on this package only, never on an adapter.
package forge

import (
	"context"
	"net/http"
)

// EventType says what happened.
type EventType string

const (
	MergeRequestOpened  EventType = "mr_opened"
	MergeRequestUpdated EventType = "mr_updated" // new commits pushed to the MR's branch
	MergeRequestClosed  EventType = "mr_closed"
	MergeRequestMerged  EventType = "mr_merged"
	MergeRequestComment EventType = "mr_comment"
	Push                EventType = "push" // to a branch; the release flow uses the default branch
	Ignored             EventType = "ignored"
)

// Repo identifies a repository on a forge.
type Repo struct {
	ID            int64  `json:"ID"`       // GitLab project id; GitHub repository id
	FullName      string `json:"FullName"` // "group/project" or "owner/repo"
	CloneURL      string `json:"CloneURL"` // https clone address
	DefaultBranch string `json:"DefaultBranch"`
	WebURL        string `json:"WebURL"`
}

// MergeRequest is a GitLab merge request or a GitHub pull request.
type MergeRequest struct {
	Number       int    `json:"Number"` // GitLab iid, GitHub number
	Title        string `json:"Title"`
	Author       string `json:"Author"`
	HeadSHA      string `json:"HeadSHA"`
	HeadBranch   string `json:"HeadBranch"`
	TargetBranch string `json:"TargetBranch"`
	SourceRepo   Repo   `json:"SourceRepo"` // differs from the event's Repo for a fork
	FromFork     bool   `json:"FromFork"`
	Draft        bool   `json:"Draft"`
	State        string `json:"State"`       // opened, closed, merged
	MergeCommit  string `json:"MergeCommit"` // set once merged
	WebURL       string `json:"WebURL"`
}

// Event is one webhook delivery, decoded and verified. It is stored as
// the event job's payload: the JSON names are the Go field names the jobs
// queued before the tags were written with, so renaming a field keeps its
// tag (testdata/event-untagged.json).
type Event struct {
	Forge      string        `json:"Forge"`      // "gitlab" or "github"
	DeliveryID string        `json:"DeliveryID"` // X-Gitlab-Event-UUID, X-GitHub-Delivery
	Type       EventType     `json:"Type"`
	Repo       Repo          `json:"Repo"`
	MR         *MergeRequest `json:"MR"`      // nil for a push
	Actor      string        `json:"Actor"`   // who commented, pushed, merged
	Comment    string        `json:"Comment"` // the comment body for MergeRequestComment
	// Push fields.
	Ref    string `json:"Ref"`    // "refs/heads/main"
	Before string `json:"Before"` // also the MR's previous head on MergeRequestUpdated, when the forge says
	After  string `json:"After"`
}

// State is a commit status.
type State string

const (
	StatePending State = "pending"
	StateRunning State = "running"
	StateSuccess State = "success"
	StateFailure State = "failure"
)

// Status is one commit status, e.g. context "imagebot/rocky9".
type Status struct {
	Context     string `json:"Context"`
	State       State  `json:"State"`
	Description string `json:"Description"`
	TargetURL   string `json:"TargetURL"`
}

// Permission is what a person may do in a repository, normalised over forges.
type Permission int

const (
	PermissionNone     Permission = iota
	PermissionRead                // GitLab Guest/Reporter, GitHub read/triage
	PermissionWrite               // GitLab Developer, GitHub write
	PermissionMaintain            // GitLab Maintainer, GitHub maintain
	PermissionAdmin               // GitLab Owner, GitHub admin
)

// Forge is everything the bot does with a forge.
type Forge interface {
	Name() string
	// ParseWebhook verifies the request's token or signature and decodes it.
	// body is the intake's pooled buffer: it must not be kept past the call.
	// A request that fails verification returns ErrUnauthorized.
	ParseWebhook(r *http.Request, body []byte) (Event, error)
	// CreateComment posts a comment on the merge request and returns its id.
	CreateComment(ctx context.Context, repo Repo, mr int, body string) (int64, error)
	EditComment(ctx context.Context, repo Repo, mr int, commentID int64, body string) error
	SetStatus(ctx context.Context, repo Repo, sha string, st Status) error
	Permission(ctx context.Context, repo Repo, user string) (Permission, error)
	GetMergeRequest(ctx context.Context, repo Repo, mr int) (MergeRequest, error)
	// CloneAuth returns the user name and token to fetch the repository over https.
	CloneAuth() (user, token string)
	// MaxCommentSize is the largest comment body the forge accepts, in bytes.
	MaxCommentSize() int
	// IsBot says whether user ("@name" or "name") is the bot's own account,
	// whose comments run nothing.
	IsBot(user string) bool
	// MergeRequestURL is the merge request's page, from the repository's
	// web address ("" when that is unknown).
	MergeRequestURL(repo Repo, mr int) string
	// OpenChange proposes a file change as a merge request: it commits
	// change.Files on change.Branch (created from, or reset to, the target
	// branch) and opens a merge request from it. When a merge request from
	// change.Branch is open already it returns that one, created false, and
	// commits nothing: a bump is never proposed twice (change.go).
	OpenChange(ctx context.Context, repo Repo, change Change) (mr MergeRequest, created bool, err error)
	// PermissionName names a permission in the forge's own words
	// ("Developer access", "write permission").
	PermissionName(p Permission) string
}

// ErrUnauthorized means a webhook's token or signature did not verify.
var ErrUnauthorized = errUnauthorized{}

type errUnauthorized struct{}

func (errUnauthorized) Error() string { return "webhook signature or token did not verify" }
