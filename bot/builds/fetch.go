package builds

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

var shaRE = regexp.MustCompile(`^[0-9a-f]{7,64}$`)

// NewGitFetcher checks out under dir/src with the git binary bin ("" is
// git on PATH).
func NewGitFetcher(bin, dir string, log zerolog.Logger) *GitFetcher {
	return &GitFetcher{bin: bin, dir: dir, log: log}
}

// GitFetcher makes shallow checkouts of one commit, shared by the event and
// build jobs of that commit. The forge token reaches git only through the
// environment of the git process (GIT_ASKPASS), never its arguments or logs.
type GitFetcher struct {
	bin string
	dir string
	log zerolog.Logger

	locks dirLocks
}

// Checkout returns a directory holding cloneURL at sha (fetched with depth 1
// when not there yet). repoKey names the repository on disk.
func (g *GitFetcher) Checkout(ctx context.Context, repoKey, cloneURL, sha, user, token string) (string, error) {
	if !shaRE.MatchString(sha) {
		return "", fmt.Errorf("checkout: %q is not a commit sha", sha)
	}
	dir := filepath.Join(g.dir, "src", safeName(repoKey), sha)
	defer g.locks.lock(dir)()
	if _, err := os.Stat(filepath.Join(dir, completeMark)); err == nil {
		now := time.Now() // a use: the retention sweep goes by this
		_ = os.Chtimes(filepath.Join(dir, completeMark), now, now)
		return dir, nil
	}
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("checkout %s: %w", sha, err)
	}
	if err := g.fetch(ctx, dir, cloneURL, sha, user, token); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, completeMark), nil, 0o640); err != nil {
		return "", fmt.Errorf("checkout %s: %w", sha, err)
	}
	return dir, nil
}

// CheckoutBranch fetches the tip of a branch (to compare the MR against its
// target) and returns its directory; it is fetched again every time.
func (g *GitFetcher) CheckoutBranch(ctx context.Context, repoKey, cloneURL, branch, user, token string) (string, error) {
	if branch == "" || strings.HasPrefix(branch, "-") || strings.ContainsAny(branch, " \t\n:") {
		return "", fmt.Errorf("checkout: %q is not a branch name", branch)
	}
	dir := filepath.Join(g.dir, "src", safeName(repoKey), "branch-"+safeName(branch))
	defer g.locks.lock(dir)()
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("checkout %s: %w", branch, err)
	}
	if err := g.fetch(ctx, dir, cloneURL, "refs/heads/"+branch, user, token); err != nil {
		return "", err
	}
	return dir, nil
}

func (g *GitFetcher) fetch(ctx context.Context, dir, cloneURL, ref, user, token string) error {
	askpass := filepath.Join(g.dir, "git-askpass.sh")
	if err := os.MkdirAll(g.dir, 0o750); err != nil {
		return err
	}
	// The helper answers git's user and password prompts from the environment.
	script := "#!/bin/sh\ncase \"$1\" in\n*sername*) printf '%s\\n' \"$IMAGEBOT_GIT_USER\" ;;\n*) printf '%s\\n' \"$IMAGEBOT_GIT_TOKEN\" ;;\nesac\n"
	if err := os.WriteFile(askpass, []byte(script), 0o700); err != nil {
		return fmt.Errorf("write git askpass helper: %w", err)
	}
	bin := g.bin
	if bin == "" {
		bin = "git"
	}
	steps := [][]string{
		{"init", "-q"},
		{"fetch", "-q", "--depth", "1", "--no-tags", "--", cloneURL, ref},
		{"-c", "advice.detachedHead=false", "checkout", "-q", "FETCH_HEAD"},
	}
	for i, args := range steps {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(),
			"GIT_ASKPASS="+askpass, "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
			"IMAGEBOT_GIT_USER="+user, "IMAGEBOT_GIT_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if token != "" {
				msg = strings.ReplaceAll(msg, token, "[REDACTED]")
			}
			return fmt.Errorf("git %s %s: %v: %s", [...]string{"init", "fetch", "checkout"}[i], ref, err, msg)
		}
	}
	return nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, s)
}
