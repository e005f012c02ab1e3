package forge

import "context"

// RepoCloneAuth is implemented by forges whose clone credentials depend on
// the repository (a GitHub App: one installation token per owner, minted
// fresh before it expires).
type RepoCloneAuth interface {
	CloneAuthFor(ctx context.Context, repo Repo) (user, token string, err error)
}

// CloneAuthOf returns what git needs to fetch repo from f: the forge's
// per-repository credentials when it has them (ask before each fetch: an
// App's token may have been renewed since), else its one token.
func CloneAuthOf(ctx context.Context, f Forge, repo Repo) (user, token string, err error) {
	if r, ok := f.(RepoCloneAuth); ok {
		return r.CloneAuthFor(ctx, repo)
	}
	user, token = f.CloneAuth()
	return user, token, nil
}
