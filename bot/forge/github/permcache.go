package github

import (
	"strings"
	"sync"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
)

// permTTL is how long a collaborator permission is reused across events
// (issue 11 item 6): a comment of many commands, or many comments in a
// minute, cost one lookup per person and repository. A revoked permission
// is honoured at most this late.
const permTTL = 60 * time.Second

// maxPerms bounds the cache: past it, everything is dropped rather than grown.
const maxPerms = 10000

type permEntry struct {
	p  forge.Permission
	at time.Time
}

// permCache holds recent permission answers by repository and login
// (GitHub compares both without case); now is replaceable in tests.
type permCache struct {
	mu    sync.Mutex
	now   func() time.Time
	perms map[string]permEntry
}

func newPermCache() *permCache {
	return &permCache{now: time.Now, perms: map[string]permEntry{}}
}

func permKey(repo, user string) string {
	return strings.ToLower(repo) + "\x00" + strings.ToLower(user)
}

func (c *permCache) get(repo, user string) (forge.Permission, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := permKey(repo, user)
	e, ok := c.perms[k]
	if !ok || c.now().Sub(e.at) >= permTTL {
		delete(c.perms, k)
		return forge.PermissionNone, false
	}
	return e.p, true
}

func (c *permCache) set(repo, user string, p forge.Permission) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.perms) >= maxPerms {
		c.perms = map[string]permEntry{}
	}
	c.perms[permKey(repo, user)] = permEntry{p: p, at: c.now()}
}

// forget drops what is known of user on repo: a lookup that failed must
// not leave an older answer to be reused.
func (c *permCache) forget(repo, user string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.perms, permKey(repo, user))
}
