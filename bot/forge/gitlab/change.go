package gitlab

import (
	"context"
	"fmt"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/imagebot/imagebot/bot/forge"
)

// OpenChange commits change.Files on change.Branch, started from (or, with
// force, reset to) the target branch, in one call to the commits API, then
// opens the merge request. An open merge request from the branch already
// there is returned as it is, with nothing committed.
func (g *GitLab) OpenChange(ctx context.Context, repo forge.Repo, change forge.Change) (forge.MergeRequest, bool, error) {
	if err := change.Check(); err != nil {
		return forge.MergeRequest{}, false, err
	}
	target := change.Target
	if target == "" {
		target = repo.DefaultBranch
	}
	if target == "" {
		return forge.MergeRequest{}, false, fmt.Errorf("open change %s on %s: the repository's default branch is unknown", change.Branch, repo.FullName)
	}
	open, _, err := g.client.MergeRequests.ListProjectMergeRequests(pid(repo), &gl.ListProjectMergeRequestsOptions{
		State: gl.Ptr("opened"), SourceBranch: &change.Branch, TargetBranch: &target,
	}, gl.WithContext(ctx))
	if err != nil {
		return forge.MergeRequest{}, false, fmt.Errorf("look for an open merge request from %s on %s: %w", change.Branch, repo.FullName, err)
	}
	if len(open) > 0 {
		m := open[0]
		return forge.MergeRequest{Number: int(m.IID), Title: m.Title, HeadSHA: m.SHA, HeadBranch: m.SourceBranch,
			TargetBranch: m.TargetBranch, State: m.State, WebURL: m.WebURL, SourceRepo: repo}, false, nil
	}
	actions := make([]*gl.CommitActionOptions, 0, len(change.Files))
	for _, f := range change.Files {
		actions = append(actions, &gl.CommitActionOptions{Action: gl.Ptr(gl.FileUpdate), FilePath: gl.Ptr(f.Path), Content: gl.Ptr(f.Content)})
	}
	c, _, err := g.client.Commits.CreateCommit(pid(repo), &gl.CreateCommitOptions{
		Branch: &change.Branch, StartBranch: &target, CommitMessage: gl.Ptr(change.CommitMessage()),
		Actions: actions, Force: gl.Ptr(true),
	}, gl.WithContext(ctx))
	if err != nil {
		return forge.MergeRequest{}, false, fmt.Errorf("commit %d file(s) on %s of %s: %w", len(actions), change.Branch, repo.FullName, err)
	}
	m, _, err := g.client.MergeRequests.CreateMergeRequest(pid(repo), &gl.CreateMergeRequestOptions{
		Title: &change.Title, Description: &change.Body, SourceBranch: &change.Branch, TargetBranch: &target,
		RemoveSourceBranch: gl.Ptr(true),
	}, gl.WithContext(ctx))
	if err != nil {
		return forge.MergeRequest{}, false, fmt.Errorf("open a merge request from %s on %s: %w", change.Branch, repo.FullName, err)
	}
	return forge.MergeRequest{Number: int(m.IID), Title: m.Title, HeadSHA: c.ID, HeadBranch: m.SourceBranch,
		TargetBranch: m.TargetBranch, State: m.State, WebURL: m.WebURL, SourceRepo: repo}, true, nil
}
