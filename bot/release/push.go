package release

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/imagebot/imagebot/bot/forge"
)

// Checkout makes a checkout of sha of repo in which before can be diffed
// against it, and returns its directory (the bot's git fetcher does this).
type Checkout func(ctx context.Context, repo forge.Repo, sha, before string) (string, error)

// HandlePush releases a push to the default branch: the bot calls it for
// forge.Push events to the default branch (bot/events, bot/releasejob.go). Pushes to other branches, branch
// deletions and pushes that change nothing are ignored.
func (r *Releaser) HandlePush(ctx context.Context, ev forge.Event, checkout Checkout) ([]Decision, error) {
	if ev.Type != forge.Push || ev.Ref != "refs/heads/"+ev.Repo.DefaultBranch || zeroSHA(ev.After) || ev.Before == ev.After {
		return nil, nil
	}
	root, err := checkout(ctx, ev.Repo, ev.After, ev.Before)
	if err != nil {
		return nil, fmt.Errorf("release %s: fetch: %w", forge.ShortSHA(ev.After), err)
	}
	push := Push{Repo: ev.Repo, Before: ev.Before, After: ev.After, Actor: ev.Actor}
	if zeroSHA(ev.Before) {
		// A new branch: everything is "changed"; diff against the empty tree.
		push.Before = emptyTree
	}
	push.MR = r.mergedMR(ctx, ev.Repo, root, ev.After)
	return r.Run(ctx, push, root)
}

// emptyTree is git's empty tree object: a diff from it lists every file.
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

func zeroSHA(s string) bool { return strings.Trim(s, "0") == "" }

// Merge commit messages name the merge request they merged:
// GitLab "See merge request group/project!12", GitHub "Merge pull request
// #12 from ..." or a squash "Title (#12)".
var (
	gitlabMergeRE = regexp.MustCompile(`(?m)^See merge request \S+!(\d+)\s*$`)
	githubMergeRE = regexp.MustCompile(`(?m)^Merge pull request #(\d+) from `)
	squashRE      = regexp.MustCompile(`\(#(\d+)\)\s*$`)
)

// mergedMR finds the merge request that sha merged, by its commit message,
// and believes it only when the forge says that MR merged into this commit.
func (r *Releaser) mergedMR(ctx context.Context, repo forge.Repo, root, sha string) *forge.MergeRequest {
	out, err := exec.CommandContext(ctx, "git", "-C", root, "log", "-1", "--format=%B", sha).Output()
	if err != nil {
		r.Log.Warn().Err(err).Str("sha", sha).Msg("read the merge commit's message")
		return nil
	}
	n, ok := MergedNumber(string(out))
	if !ok {
		return nil // a direct push: statuses only
	}
	mr, err := r.Forge.GetMergeRequest(ctx, repo, n)
	if err != nil {
		r.Log.Warn().Err(err).Int("mr", n).Msg("look up the merged merge request")
		return nil
	}
	if mr.MergeCommit != "" && mr.MergeCommit != sha {
		r.Log.Warn().Int("mr", n).Str("merge_commit", mr.MergeCommit).Str("sha", sha).Msg("the commit names a merge request that merged elsewhere")
		return nil
	}
	return &mr
}

// MergedNumber reads the merge request number a merge commit's message
// names, if any.
func MergedNumber(msg string) (int, bool) {
	msg = strings.TrimSpace(msg)
	title, _, _ := strings.Cut(msg, "\n")
	for _, re := range []*regexp.Regexp{gitlabMergeRE, githubMergeRE, squashRE} {
		text := msg
		if re == squashRE {
			text = title
		}
		if m := re.FindStringSubmatch(text); m != nil {
			n, err := strconv.Atoi(m[1])
			return n, err == nil && n > 0
		}
	}
	return 0, false
}
