package events

import (
	"context"
	"strings"
	"sync"

	"github.com/imagebot/imagebot/bot/forge"
)

// permMemo answers Permission once per (repository, person) for the life of
// one event: a comment of many commands costs one lookup per person, on
// every forge (issue 11 item 6). It lives only as long as the event, so it
// cannot carry trust across a rename.
type permMemo struct {
	forge.Forge
	mu   sync.Mutex
	seen map[string]permAnswer
}

type permAnswer struct {
	p   forge.Permission
	err error
}

func memoPermissions(f forge.Forge) forge.Forge {
	return &permMemo{Forge: f, seen: map[string]permAnswer{}}
}

func (m *permMemo) Permission(ctx context.Context, repo forge.Repo, user string) (forge.Permission, error) {
	key := repo.FullName + "\x00" + strings.ToLower(strings.TrimPrefix(user, "@"))
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.seen[key]; ok {
		return a.p, a.err
	}
	p, err := m.Forge.Permission(ctx, repo, user)
	m.seen[key] = permAnswer{p, err}
	return p, err
}

// CloneAuthFor keeps the wrapped forge's per-repository clone credentials
// (a GitHub App's owner token) visible through the memo: forge.CloneAuthOf
// asks for them by this method.
func (m *permMemo) CloneAuthFor(ctx context.Context, repo forge.Repo) (user, token string, err error) {
	return forge.CloneAuthOf(ctx, m.Forge, repo)
}
