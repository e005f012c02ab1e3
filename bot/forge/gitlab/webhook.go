package gitlab

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/imagebot/imagebot/bot/forge"
)

// The webhook payload, only the fields imagebot reads. Own types rather than
// client-go's: a field we don't read can't break decoding.
type hookProject struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
	GitHTTPURL        string `json:"git_http_url"`
	DefaultBranch     string `json:"default_branch"`
	WebURL            string `json:"web_url"`
}

type hookUser struct {
	Username string `json:"username"`
}

type hookMR struct {
	IID             int          `json:"iid"`
	Title           string       `json:"title"`
	SourceBranch    string       `json:"source_branch"`
	TargetBranch    string       `json:"target_branch"`
	SourceProjectID int64        `json:"source_project_id"`
	TargetProjectID int64        `json:"target_project_id"`
	Source          *hookProject `json:"source"`
	State           string       `json:"state"`
	Draft           *bool        `json:"draft"`
	WorkInProgress  bool         `json:"work_in_progress"`
	MergeCommitSHA  string       `json:"merge_commit_sha"`
	URL             string       `json:"url"`
	Action          string       `json:"action"`
	OldRev          string       `json:"oldrev"`
	LastCommit      struct {
		ID string `json:"id"`
	} `json:"last_commit"`
}

type mergeRequestHook struct {
	User             hookUser    `json:"user"`
	Project          hookProject `json:"project"`
	ObjectAttributes hookMR      `json:"object_attributes"`
}

type noteHook struct {
	User             hookUser    `json:"user"`
	Project          hookProject `json:"project"`
	ObjectAttributes struct {
		ID           int64  `json:"id"`
		Note         string `json:"note"`
		NoteableType string `json:"noteable_type"`
		System       bool   `json:"system"`
		Action       string `json:"action"`
	} `json:"object_attributes"`
	MergeRequest *hookMR `json:"merge_request"`
}

type pushHook struct {
	Ref          string      `json:"ref"`
	Before       string      `json:"before"`
	After        string      `json:"after"`
	UserUsername string      `json:"user_username"`
	Project      hookProject `json:"project"`
}

// ParseWebhook verifies X-Gitlab-Token in constant time and decodes the
// delivery. Events imagebot does not act on decode to forge.Ignored.
func (g *GitLab) ParseWebhook(r *http.Request, body []byte) (forge.Event, error) {
	if !g.tokenOK(r.Header.Get("X-Gitlab-Token")) {
		return forge.Event{}, forge.ErrUnauthorized
	}
	ev := forge.Event{Forge: Name, DeliveryID: r.Header.Get("X-Gitlab-Event-UUID"), Type: forge.Ignored}
	if ev.DeliveryID == "" {
		// GitLab before 14.x sends no UUID; the body identifies a redelivery.
		sum := sha256.Sum256(body)
		ev.DeliveryID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	kind := r.Header.Get("X-Gitlab-Event")
	var err error
	switch kind {
	case "Merge Request Hook":
		err = g.mergeRequest(&ev, body)
	case "Note Hook":
		err = g.note(&ev, body)
	case "Push Hook":
		err = push(&ev, body)
	default:
		return ev, nil
	}
	if err != nil {
		return forge.Event{}, fmt.Errorf("gitlab %q delivery %s: %w", kind, ev.DeliveryID, err)
	}
	return ev, nil
}

// tokenOK compares hashes so neither content nor length leaks through timing.
func (g *GitLab) tokenOK(got string) bool {
	if g.cfg.WebhookSecret == "" || got == "" {
		return false
	}
	a := sha256.Sum256([]byte(got))
	b := sha256.Sum256([]byte(g.cfg.WebhookSecret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (g *GitLab) mergeRequest(ev *forge.Event, body []byte) error {
	var h mergeRequestHook
	if err := decode(body, &h); err != nil {
		return err
	}
	ev.Repo = repoOf(h.Project)
	ev.Actor = h.User.Username
	oa := h.ObjectAttributes
	mr := mrOf(oa, ev.Repo)
	switch oa.Action {
	case "open":
		ev.Type = forge.MergeRequestOpened
		mr.Author = h.User.Username // the opener is the author
	case "reopen":
		ev.Type = forge.MergeRequestOpened
	case "update":
		if oa.OldRev != "" { // present only when commits were pushed
			ev.Type = forge.MergeRequestUpdated
			ev.Before, ev.After = oa.OldRev, mr.HeadSHA
		}
	case "close":
		ev.Type = forge.MergeRequestClosed
	case "merge":
		ev.Type = forge.MergeRequestMerged
	}
	ev.MR = &mr
	return nil
}

func (g *GitLab) note(ev *forge.Event, body []byte) error {
	var h noteHook
	if err := decode(body, &h); err != nil {
		return err
	}
	ev.Repo = repoOf(h.Project)
	ev.Actor = h.User.Username
	oa := h.ObjectAttributes
	if oa.NoteableType != "MergeRequest" || h.MergeRequest == nil {
		return nil // a note on an issue, commit or snippet
	}
	mr := mrOf(*h.MergeRequest, ev.Repo)
	ev.MR = &mr
	ev.Comment = oa.Note
	if oa.System || (oa.Action != "" && oa.Action != "create") || g.isBot(ev.Actor) {
		return nil // system notes, edits and our own comments run nothing
	}
	ev.Type = forge.MergeRequestComment
	return nil
}

func push(ev *forge.Event, body []byte) error {
	var h pushHook
	if err := decode(body, &h); err != nil {
		return err
	}
	ev.Type = forge.Push
	ev.Repo = repoOf(h.Project)
	ev.Actor = h.UserUsername
	ev.Ref, ev.Before, ev.After = h.Ref, h.Before, h.After
	return nil
}

func (g *GitLab) isBot(user string) bool { return g.IsBot(user) }

// IsBot says whether user ("@name" or "name") is the bot's account.
func (g *GitLab) IsBot(user string) bool {
	return g.cfg.BotUser != "" && strings.EqualFold(strings.TrimPrefix(user, "@"), g.cfg.BotUser)
}

// MergeRequestURL is the merge request's page ("" without a web address).
func (g *GitLab) MergeRequestURL(repo forge.Repo, mr int) string {
	web := strings.TrimSuffix(repo.WebURL, "/")
	if web == "" || mr <= 0 {
		return ""
	}
	return fmt.Sprintf("%s/-/merge_requests/%d", web, mr)
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode payload: %w", err)
	}
	return nil
}

func repoOf(p hookProject) forge.Repo {
	return forge.Repo{ID: p.ID, FullName: p.PathWithNamespace, CloneURL: p.GitHTTPURL,
		DefaultBranch: p.DefaultBranch, WebURL: p.WebURL}
}

func mrOf(m hookMR, target forge.Repo) forge.MergeRequest {
	mr := forge.MergeRequest{
		Number: m.IID, Title: m.Title, HeadSHA: m.LastCommit.ID,
		HeadBranch: m.SourceBranch, TargetBranch: m.TargetBranch,
		FromFork: m.SourceProjectID != 0 && m.SourceProjectID != m.TargetProjectID,
		Draft:    m.WorkInProgress, State: m.State, MergeCommit: m.MergeCommitSHA, WebURL: m.URL,
		SourceRepo: target,
	}
	if m.Draft != nil {
		mr.Draft = *m.Draft
	}
	if mr.FromFork {
		mr.SourceRepo = forge.Repo{ID: m.SourceProjectID}
		if m.Source != nil {
			mr.SourceRepo = repoOf(*m.Source)
			mr.SourceRepo.ID = m.SourceProjectID
		}
	}
	return mr
}

// PermissionName names a permission in GitLab's words (its roles).
func (g *GitLab) PermissionName(p forge.Permission) string { return PermissionName(p) }

// PermissionName names a permission as GitLab's role.
func PermissionName(p forge.Permission) string {
	switch p {
	case forge.PermissionNone:
		return "no access"
	case forge.PermissionRead:
		return "Guest or Reporter access"
	case forge.PermissionWrite:
		return "Developer access"
	case forge.PermissionMaintain:
		return "Maintainer access"
	case forge.PermissionAdmin:
		return "Owner access"
	}
	return forge.PermissionWords(p)
}
