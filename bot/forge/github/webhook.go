package github

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/imagebot/imagebot/bot/forge"
)

// ParseWebhook verifies X-Hub-Signature-256 (HMAC-SHA256 of the body with
// the webhook secret) and decodes pull_request, issue_comment and push
// deliveries. Everything else decodes to forge.Ignored.
func (g *GitHub) ParseWebhook(r *http.Request, body []byte) (forge.Event, error) {
	if !g.signatureOK(r.Header.Get("X-Hub-Signature-256"), body) {
		return forge.Event{}, forge.ErrUnauthorized
	}
	ev := forge.Event{Forge: Name, DeliveryID: r.Header.Get("X-GitHub-Delivery"), Type: forge.Ignored}
	if ev.DeliveryID == "" {
		sum := sha256.Sum256(body)
		ev.DeliveryID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	kind := r.Header.Get("X-GitHub-Event")
	switch kind {
	case "pull_request", "issue_comment", "push":
	default:
		return ev, nil // ping, check_run, ...
	}
	payload, err := gh.ParseWebHook(kind, body)
	if err != nil {
		return forge.Event{}, fmt.Errorf("github %q delivery %s: decode payload: %w", kind, ev.DeliveryID, err)
	}
	switch p := payload.(type) {
	case *gh.PullRequestEvent:
		if p.PullRequest == nil {
			return forge.Event{}, fmt.Errorf("github pull_request delivery %s: no pull_request in payload", ev.DeliveryID)
		}
		pullRequest(&ev, p)
	case *gh.IssueCommentEvent:
		g.issueComment(&ev, p)
	case *gh.PushEvent:
		push(&ev, p)
	}
	return ev, nil
}

func (g *GitHub) signatureOK(header string, body []byte) bool {
	if g.cfg.WebhookSecret == "" {
		return false
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(g.cfg.WebhookSecret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

func pullRequest(ev *forge.Event, p *gh.PullRequestEvent) {
	ev.Repo = repoOf(p.GetRepo())
	ev.Actor = p.GetSender().GetLogin()
	mr := mrOf(p.GetPullRequest(), ev.Repo)
	ev.MR = &mr
	switch p.GetAction() {
	case "opened", "reopened":
		ev.Type = forge.MergeRequestOpened
	case "synchronize":
		ev.Type = forge.MergeRequestUpdated
		ev.Before, ev.After = p.GetBefore(), p.GetAfter()
	case "closed":
		ev.Type = forge.MergeRequestClosed
		if p.GetPullRequest().GetMerged() {
			ev.Type = forge.MergeRequestMerged
		}
	}
}

// issueComment keeps only new comments on pull requests: GitHub sends PR
// conversation comments as issue comments, with issue.pull_request set.
func (g *GitHub) issueComment(ev *forge.Event, p *gh.IssueCommentEvent) {
	ev.Repo = repoOf(p.GetRepo())
	ev.Actor = p.GetComment().GetUser().GetLogin()
	if ev.Actor == "" {
		ev.Actor = p.GetSender().GetLogin()
	}
	issue := p.GetIssue()
	if issue == nil || !issue.IsPullRequest() { // IsPullRequest has a value receiver
		return
	}
	// The payload has no head commit: the bot reads it with GetMergeRequest.
	ev.MR = &forge.MergeRequest{
		Number: issue.GetNumber(), Title: issue.GetTitle(), Author: issue.GetUser().GetLogin(),
		State: prState(issue.GetState(), issue.GetPullRequestLinks().GetMergedAt().Time.IsZero()),
		Draft: issue.GetDraft(), WebURL: issue.GetHTMLURL(), SourceRepo: ev.Repo,
	}
	ev.Comment = p.GetComment().GetBody()
	if p.GetAction() != "created" || g.isBot(ev.Actor) {
		return // edits and deletions run nothing, nor do our own comments
	}
	ev.Type = forge.MergeRequestComment
}

func push(ev *forge.Event, p *gh.PushEvent) {
	r := p.GetRepo()
	ev.Type = forge.Push
	ev.Repo = forge.Repo{ID: r.GetID(), FullName: r.GetFullName(), CloneURL: r.GetCloneURL(),
		DefaultBranch: r.GetDefaultBranch(), WebURL: r.GetHTMLURL()}
	ev.Actor = p.GetSender().GetLogin()
	if ev.Actor == "" {
		ev.Actor = p.GetPusher().GetName()
	}
	ev.Ref, ev.Before, ev.After = p.GetRef(), p.GetBefore(), p.GetAfter()
}

func (g *GitHub) isBot(user string) bool { return g.IsBot(user) }

// IsBot says whether user ("@name" or "name") is the bot's account.
func (g *GitHub) IsBot(user string) bool {
	return g.cfg.BotUser != "" && strings.EqualFold(strings.TrimPrefix(user, "@"), g.cfg.BotUser)
}

// MergeRequestURL is the pull request's page ("" without a web address).
func (g *GitHub) MergeRequestURL(repo forge.Repo, mr int) string {
	web := strings.TrimSuffix(repo.WebURL, "/")
	if web == "" || mr <= 0 {
		return ""
	}
	return fmt.Sprintf("%s/pull/%d", web, mr)
}

func repoOf(r *gh.Repository) forge.Repo {
	return forge.Repo{ID: r.GetID(), FullName: r.GetFullName(), CloneURL: r.GetCloneURL(),
		DefaultBranch: r.GetDefaultBranch(), WebURL: r.GetHTMLURL()}
}

// mrOf maps a pull request. A head repository that is gone (a deleted
// fork) counts as a fork.
func mrOf(pr *gh.PullRequest, base forge.Repo) forge.MergeRequest {
	head := pr.GetHead()
	mr := forge.MergeRequest{
		Number: pr.GetNumber(), Title: pr.GetTitle(), Author: pr.GetUser().GetLogin(),
		HeadSHA: head.GetSHA(), HeadBranch: head.GetRef(), TargetBranch: pr.GetBase().GetRef(),
		FromFork: head.GetRepo().GetID() != pr.GetBase().GetRepo().GetID() || head.GetRepo() == nil,
		Draft:    pr.GetDraft(), State: prState(pr.GetState(), !pr.GetMerged()), WebURL: pr.GetHTMLURL(),
		SourceRepo: base,
	}
	if pr.GetMerged() {
		mr.MergeCommit = pr.GetMergeCommitSHA()
	}
	if mr.FromFork {
		mr.SourceRepo = repoOf(head.GetRepo())
	}
	return mr
}

// prState says opened, closed or merged, like GitLab.
func prState(state string, unmerged bool) string {
	switch {
	case state == "open":
		return "opened"
	case !unmerged:
		return "merged"
	}
	return state
}

// PermissionName names a permission in GitHub's words.
func (g *GitHub) PermissionName(p forge.Permission) string { return forge.PermissionWords(p) }
