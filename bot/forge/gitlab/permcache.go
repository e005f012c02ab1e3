package gitlab

import (
	"sync"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
)

// Cache lifetimes (issue 11 items 6 and Low). A comment of many commands
// makes one members lookup per person; a name's id is looked up again after
// idTTL, so a name a trusted user gave up and someone else took carries the
// old id's trust for at most that long. Permissions are cached by user id,
// never by name.
const (
	idTTL   = time.Minute
	permTTL = 30 * time.Second
)

type idEntry struct {
	id int64
	at time.Time
}

type permKey struct {
	project string
	user    int64
}

type permEntry struct {
	p  forge.Permission
	at time.Time
}

// permCache holds recent lookups; now is replaceable in tests.
type permCache struct {
	mu    sync.Mutex
	now   func() time.Time
	ids   map[string]idEntry
	perms map[permKey]permEntry
}

func newPermCache() *permCache {
	return &permCache{now: time.Now, ids: map[string]idEntry{}, perms: map[permKey]permEntry{}}
}

func (c *permCache) id(name string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.ids[name]
	if !ok || c.now().Sub(e.at) >= idTTL {
		delete(c.ids, name)
		return 0, false
	}
	return e.id, true
}

func (c *permCache) setID(name string, id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids[name] = idEntry{id: id, at: c.now()}
}

func (c *permCache) perm(project string, user int64) (forge.Permission, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := permKey{project, user}
	e, ok := c.perms[k]
	if !ok || c.now().Sub(e.at) >= permTTL {
		delete(c.perms, k)
		return 0, false
	}
	return e.p, true
}

func (c *permCache) setPerm(project string, user int64, p forge.Permission) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.perms) > 10000 { // bound: drop everything rather than grow
		c.perms = map[permKey]permEntry{}
	}
	c.perms[permKey{project, user}] = permEntry{p: p, at: c.now()}
}
