package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	gh "github.com/google/go-github/v60/github"

	"github.com/imagebot/imagebot/bot/forge"
)

// OpenChange commits change.Files on change.Branch through the Git data
// API (a tree on the target's tree, a commit on the target's head, the
// branch created or force-moved to it), then opens the pull request. An
// open pull request from the branch already there is returned as it is,
// with nothing committed.
func (g *GitHub) OpenChange(ctx context.Context, repo forge.Repo, change forge.Change) (forge.MergeRequest, bool, error) {
	if err := change.Check(); err != nil {
		return forge.MergeRequest{}, false, err
	}
	owner, name, err := ownerRepo(repo)
	if err != nil {
		return forge.MergeRequest{}, false, err
	}
	target := change.Target
	if target == "" {
		target = repo.DefaultBranch
	}
	if target == "" {
		return forge.MergeRequest{}, false, fmt.Errorf("open change %s on %s: the repository's default branch is unknown", change.Branch, repo.FullName)
	}
	open, _, err := g.client.PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{State: "open", Head: owner + ":" + change.Branch, Base: target})
	if err != nil {
		return forge.MergeRequest{}, false, fmt.Errorf("look for an open pull request from %s on %s: %w", change.Branch, repo.FullName, err)
	}
	if len(open) > 0 {
		return pullOf(repo, open[0]), false, nil
	}
	sha, err := g.commitChange(ctx, owner, name, target, change)
	if err != nil {
		return forge.MergeRequest{}, false, fmt.Errorf("commit %d file(s) on %s of %s: %w", len(change.Files), change.Branch, repo.FullName, err)
	}
	pr, _, err := g.client.PullRequests.Create(ctx, owner, name, &gh.NewPullRequest{
		Title: &change.Title, Head: &change.Branch, Base: &target, Body: &change.Body,
	})
	if err != nil {
		return forge.MergeRequest{}, false, fmt.Errorf("open a pull request from %s on %s: %w", change.Branch, repo.FullName, err)
	}
	mr := pullOf(repo, pr)
	mr.HeadSHA = sha
	return mr, true, nil
}

// commitChange makes the commit and points the branch at it.
func (g *GitHub) commitChange(ctx context.Context, owner, name, target string, change forge.Change) (string, error) {
	ref, _, err := g.client.Git.GetRef(ctx, owner, name, "heads/"+target)
	if err != nil {
		return "", fmt.Errorf("read branch %s: %w", target, err)
	}
	parent, _, err := g.client.Git.GetCommit(ctx, owner, name, ref.GetObject().GetSHA())
	if err != nil {
		return "", fmt.Errorf("read commit %s: %w", forge.ShortSHA(ref.GetObject().GetSHA()), err)
	}
	entries := make([]*gh.TreeEntry, 0, len(change.Files))
	for _, f := range change.Files {
		entries = append(entries, &gh.TreeEntry{Path: gh.String(f.Path), Mode: gh.String("100644"), Type: gh.String("blob"), Content: gh.String(f.Content)})
	}
	tree, _, err := g.client.Git.CreateTree(ctx, owner, name, parent.GetTree().GetSHA(), entries)
	if err != nil {
		return "", fmt.Errorf("create the tree: %w", err)
	}
	c, _, err := g.client.Git.CreateCommit(ctx, owner, name, &gh.Commit{
		Message: gh.String(change.CommitMessage()), Tree: &gh.Tree{SHA: tree.SHA}, Parents: []*gh.Commit{{SHA: parent.SHA}},
	}, nil)
	if err != nil {
		return "", fmt.Errorf("create the commit: %w", err)
	}
	head := &gh.Reference{Ref: gh.String("refs/heads/" + change.Branch), Object: &gh.GitObject{SHA: c.SHA}}
	_, resp, err := g.client.Git.CreateRef(ctx, owner, name, head)
	var ghErr *gh.ErrorResponse
	if err != nil && resp != nil && resp.StatusCode == http.StatusUnprocessableEntity && errors.As(err, &ghErr) {
		// The branch is left from an earlier, closed proposal: move it.
		head.Ref = gh.String("heads/" + change.Branch)
		_, _, err = g.client.Git.UpdateRef(ctx, owner, name, head, true)
	}
	if err != nil {
		return "", fmt.Errorf("point %s at the commit: %w", change.Branch, err)
	}
	return c.GetSHA(), nil
}

func pullOf(repo forge.Repo, pr *gh.PullRequest) forge.MergeRequest {
	state := "opened"
	if pr.GetState() != "open" {
		state = "closed"
	}
	return forge.MergeRequest{Number: pr.GetNumber(), Title: pr.GetTitle(), HeadSHA: pr.GetHead().GetSHA(),
		HeadBranch: pr.GetHead().GetRef(), TargetBranch: pr.GetBase().GetRef(), State: state, WebURL: pr.GetHTMLURL(),
		Author: pr.GetUser().GetLogin(), SourceRepo: repo}
}
