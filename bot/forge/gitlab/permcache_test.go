package gitlab

import (
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
)

// Issue 11 Low: a name's id is not kept forever (a renamed trusted user's
// old name, taken by someone else, must not keep the old id), and
// permissions are kept by user id, not by name.
func TestPermCacheExpires(t *testing.T) {
	c := newPermCache()
	now := time.Unix(1700000000, 0)
	c.now = func() time.Time { return now }
	c.setID("alice", 1)
	c.setPerm("42", 1, forge.PermissionMaintain)
	if id, ok := c.id("alice"); !ok || id != 1 {
		t.Fatalf("id(alice) = %d, %v; want 1 cached", id, ok)
	}
	if p, ok := c.perm("42", 2); ok {
		t.Fatalf("user 2 got user 1's cached permission %v", p)
	}
	now = now.Add(permTTL)
	if _, ok := c.perm("42", 1); ok {
		t.Error("permission still cached after permTTL")
	}
	now = now.Add(idTTL)
	if _, ok := c.id("alice"); ok {
		t.Error("name -> id still cached after idTTL: a rename would inherit trust")
	}
}
