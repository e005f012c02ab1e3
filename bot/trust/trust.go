// Package trust owns who may make imagebot build: the policy (a minimum
// forge permission plus allow and deny lists), the gate on merge requests
// from forks and outsiders, and /ok-to-build approvals bound to a head
// commit. It decides and explains; it stores nothing (approvals are plain
// values the bot persists).
package trust

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
)

// Permissions is the part of forge.Forge that trust needs.
type Permissions interface {
	Name() string
	// PermissionName names a permission in the forge's own words.
	PermissionName(p forge.Permission) string
	Permission(ctx context.Context, repo forge.Repo, user string) (forge.Permission, error)
}

// Policy says who may run commands.
type Policy struct {
	// MinPermission is the least forge permission that may build. Zero means
	// forge.PermissionWrite (GitLab Developer, GitHub write).
	MinPermission forge.Permission
	Allow         []string // user names admitted whatever their permission
	Deny          []string // user names refused whatever else holds; Deny wins
}

// Decision is the outcome of a check. Reason is written for the person who
// asked, e.g. "@bob is not allowed to build: needs Developer access on
// group/project (has Reporter)".
type Decision struct {
	Allowed bool
	Reason  string
}

func (p Policy) min() forge.Permission {
	if p.MinPermission == forge.PermissionNone {
		return forge.PermissionWrite
	}
	return p.MinPermission
}

// Actor decides whether user may run commands in repo.
func (p Policy) Actor(ctx context.Context, src Permissions, repo forge.Repo, user string) (Decision, error) {
	u := display(user)
	ok, why, err := p.judge(ctx, src, repo, u)
	if err != nil {
		return Decision{}, err
	}
	if ok {
		return Decision{Allowed: true, Reason: "@" + u + " " + why}, nil
	}
	if u == "" {
		return Decision{Reason: "an anonymous user is not allowed to build"}, nil
	}
	return Decision{Reason: "@" + u + " is not allowed to build: " + why}, nil
}

// judge says whether user may build and why, in words that follow "@user ".
func (p Policy) judge(ctx context.Context, src Permissions, repo forge.Repo, user string) (bool, string, error) {
	u := normalise(user)
	switch {
	case u == "":
		return false, "no user name", nil
	case contains(p.Deny, u):
		return false, "on this bot's deny list", nil
	case contains(p.Allow, u):
		return true, "is on this bot's allow list", nil
	}
	has, err := src.Permission(ctx, repo, user)
	if err != nil {
		return false, "", fmt.Errorf("permission of %s on %s: %w", user, repo.FullName, err)
	}
	need := p.min()
	if has >= need {
		return true, fmt.Sprintf("has %s on %s", LevelName(src, has), repo.FullName), nil
	}
	return false, fmt.Sprintf("needs %s on %s (has %s)", LevelName(src, need), repo.FullName, LevelName(src, has)), nil
}

// Approval records a trusted member's /ok-to-build on a merge request. It
// holds only for the head commit it was given on.
type Approval struct {
	Forge   string
	Repo    string // full name
	MR      int
	HeadSHA string
	By      string
	At      time.Time
}

// Covers reports whether the approval still holds for mr in repo.
func (a Approval) Covers(repo forge.Repo, mr forge.MergeRequest) bool {
	return a.HeadSHA != "" && a.HeadSHA == mr.HeadSHA && a.MR == mr.Number && a.Repo == repo.FullName
}

// Approve handles /ok-to-build by actor on mr: a trusted actor gets an
// Approval bound to mr's head commit; anyone else gets a refusal.
func (p Policy) Approve(ctx context.Context, src Permissions, repo forge.Repo, mr forge.MergeRequest, actor string, now time.Time) (Approval, Decision, error) {
	d, err := p.Actor(ctx, src, repo, actor)
	if err != nil || !d.Allowed {
		if d.Reason != "" {
			d.Reason = strings.Replace(d.Reason, "not allowed to build", "not allowed to approve builds", 1)
		}
		return Approval{}, d, err
	}
	if mr.HeadSHA == "" {
		return Approval{}, Decision{}, fmt.Errorf("approve !%d on %s: merge request has no head commit", mr.Number, repo.FullName)
	}
	a := Approval{Forge: src.Name(), Repo: repo.FullName, MR: mr.Number, HeadSHA: mr.HeadSHA, By: display(actor), At: now}
	return a, Decision{Allowed: true, Reason: fmt.Sprintf("@%s approved builds of %s", a.By, forge.ShortSHA(mr.HeadSHA))}, nil
}

// MergeRequest decides whether mr may build at its head commit: an MR from a
// fork, or by an author who may not build, needs an approval that covers its
// head (pass nil when there is none). A denied author is refused even with
// an approval. mr.Author must be set (from GetMergeRequest when the webhook
// did not carry it).
func (p Policy) MergeRequest(ctx context.Context, src Permissions, repo forge.Repo, mr forge.MergeRequest, approval *Approval) (Decision, error) {
	author := display(mr.Author)
	if author != "" && contains(p.Deny, normalise(author)) {
		return Decision{Reason: fmt.Sprintf("this merge request's author @%s is on this bot's deny list", author)}, nil
	}
	if approval != nil && approval.Covers(repo, mr) {
		return Decision{Allowed: true, Reason: fmt.Sprintf("approved by @%s at %s", approval.By, forge.ShortSHA(mr.HeadSHA))}, nil
	}
	gate := fmt.Sprintf("a member with %s must comment `/ok-to-build` on commit %s before it builds",
		LevelName(src, p.min()), forge.ShortSHA(mr.HeadSHA))
	if approval != nil && approval.HeadSHA != "" && approval.MR == mr.Number {
		gate += fmt.Sprintf(" (the approval by @%s was for %s; new commits need a new one)", approval.By, forge.ShortSHA(approval.HeadSHA))
	}
	if mr.FromFork {
		return Decision{Reason: fmt.Sprintf("this merge request comes from a fork (%s); %s",
			orUnknown(mr.SourceRepo.FullName), gate)}, nil
	}
	ok, why, err := p.judge(ctx, src, repo, author)
	if err != nil {
		return Decision{}, fmt.Errorf("trust author of !%d: %w", mr.Number, err)
	}
	if ok {
		return Decision{Allowed: true, Reason: "author @" + author + " " + why}, nil
	}
	return Decision{Reason: fmt.Sprintf("this merge request's author @%s %s; %s", author, strings.TrimPrefix(why, "on "), gate)}, nil
}

// MayBuild combines both checks for a command by actor on mr: the actor may
// run commands, and the merge request may build.
func (p Policy) MayBuild(ctx context.Context, src Permissions, repo forge.Repo, mr forge.MergeRequest, actor string, approval *Approval) (Decision, error) {
	d, err := p.Actor(ctx, src, repo, actor)
	if err != nil || !d.Allowed {
		return d, err
	}
	return p.MergeRequest(ctx, src, repo, mr, approval)
}

// LevelName names a permission the way src's forge does.
func LevelName(src Permissions, p forge.Permission) string { return src.PermissionName(p) }

func display(user string) string { return strings.TrimPrefix(strings.TrimSpace(user), "@") }

func normalise(user string) string { return strings.ToLower(display(user)) }

func contains(list []string, user string) bool {
	for _, u := range list {
		if normalise(u) == user {
			return true
		}
	}
	return false
}

func orUnknown(s string) string {
	if s == "" {
		return "another project"
	}
	return s
}

// ParsePermission reads a minimum permission as a setting gives it, in
// either forge's words: read (guest, reporter, triage), write (developer),
// maintain (maintainer), admin (owner).
func ParsePermission(s string) (forge.Permission, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "read", "guest", "reporter", "triage":
		return forge.PermissionRead, nil
	case "", "write", "developer":
		return forge.PermissionWrite, nil
	case "maintain", "maintainer":
		return forge.PermissionMaintain, nil
	case "admin", "owner":
		return forge.PermissionAdmin, nil
	}
	return forge.PermissionNone, fmt.Errorf("permission %q: want read, write, maintain or admin (or GitLab's reporter, developer, maintainer, owner)", s)
}

// Denied reports whether user is on the deny list. The bot asks before it
// stores a refused command (a deny-listed user's command is never kept for
// an approval to replay) and again when an approval replays one.
func (p Policy) Denied(user string) bool {
	u := normalise(user)
	return u != "" && contains(p.Deny, u)
}
