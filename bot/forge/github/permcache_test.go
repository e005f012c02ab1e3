package github

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github/githubtest"
)

// permCalls counts the permission lookups the server has answered.
func permCalls(srv *githubtest.Server) int {
	n := 0
	for _, c := range srv.Calls() {
		if strings.Contains(c, "/permission") {
			n++
		}
	}
	return n
}

// TestPermissionCachedAcrossEvents (issue 11 item 6): repeated lookups of a
// person on a repository, in any letter case, ask GitHub once per permTTL;
// another repository or person is asked for; a changed role is seen after
// permTTL; a failed lookup is not cached.
func TestPermissionCachedAcrossEvents(t *testing.T) {
	srv := githubtest.New(t, "tok")
	srv.SetPermission("alice", "write")
	g, err := New(Config{BaseURL: srv.URL, Token: "tok", WebhookSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	g.perms.now = func() time.Time { return now }
	repo := forge.Repo{ID: githubtest.RepoID, FullName: "infra/images"}
	ctx := context.Background()
	lookup := func(r forge.Repo, user string, want forge.Permission, calls int) {
		t.Helper()
		before := permCalls(srv)
		got, err := g.Permission(ctx, r, user)
		if err != nil || got != want {
			t.Fatalf("Permission(%s, %s) = %v, %v; want %v", r.FullName, user, got, err, want)
		}
		if n := permCalls(srv) - before; n != calls {
			t.Fatalf("Permission(%s, %s) made %d calls, want %d", r.FullName, user, n, calls)
		}
	}
	lookup(repo, "alice", forge.PermissionWrite, 1)
	for i := 0; i < 20; i++ { // many events (or commands) within the minute
		lookup(repo, "alice", forge.PermissionWrite, 0)
	}
	lookup(forge.Repo{ID: githubtest.RepoID, FullName: "Infra/Images"}, "ALICE", forge.PermissionWrite, 0)
	lookup(repo, "mallory", forge.PermissionNone, 1) // no collaborator: cached too
	lookup(repo, "mallory", forge.PermissionNone, 0)

	srv.SetPermission("alice", "read")
	now = now.Add(permTTL - time.Second)
	lookup(repo, "alice", forge.PermissionWrite, 0)
	now = now.Add(time.Second)
	lookup(repo, "alice", forge.PermissionRead, 1)

	now = now.Add(permTTL)
	srv.Inject(githubtest.Fault{Method: http.MethodGet, PathContains: "/collaborators/alice/permission", Code: http.StatusUnauthorized})
	if _, err := g.Permission(ctx, repo, "alice"); err == nil {
		t.Fatal("the injected failure was not reported")
	}
	lookup(repo, "alice", forge.PermissionRead, 1) // the failure was not cached
}
