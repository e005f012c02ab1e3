package bot

import (
	"context"
	"testing"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/trust"
)

type countingForge struct {
	forge.Forge
	calls int
}

func (c *countingForge) Name() string { return "github" }

func (c *countingForge) PermissionName(p forge.Permission) string { return forge.PermissionWords(p) }

func (c *countingForge) Permission(context.Context, forge.Repo, string) (forge.Permission, error) {
	c.calls++
	return forge.PermissionRead, nil
}

// Issue 11 item 6: ten commands by one person in one comment make one
// permission lookup, whatever the forge adapter caches.
func TestPermissionLookedUpOncePerEvent(t *testing.T) {
	c := &countingForge{}
	f := memoPermissions(c)
	repo := forge.Repo{FullName: "o/r"}
	for i := 0; i < 10; i++ {
		for _, u := range []string{"mallory", "@Mallory"} {
			if _, err := (trust.Policy{}).Actor(context.Background(), f, repo, u); err != nil {
				t.Fatal(err)
			}
		}
	}
	if c.calls != 1 {
		t.Fatalf("%d permission lookups for one person in one event, want 1", c.calls)
	}
}
