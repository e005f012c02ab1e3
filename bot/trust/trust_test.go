package trust

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
)

// perms is a permission table; asking about a user not in it is an error,
// so a test notices when the policy asks when it should not.
type perms struct {
	forge string
	table map[string]forge.Permission
	asked []string
}

func (p *perms) Name() string { return p.forge }

func (p *perms) PermissionName(x forge.Permission) string {
	if p.forge == "gitlab" {
		return gitlab.PermissionName(x)
	}
	return forge.PermissionWords(x)
}

func (p *perms) Permission(_ context.Context, _ forge.Repo, user string) (forge.Permission, error) {
	p.asked = append(p.asked, user)
	perm, ok := p.table[user]
	if !ok {
		return 0, errors.New("unexpected permission lookup for " + user)
	}
	return perm, nil
}

var repo = forge.Repo{ID: 7, FullName: "group/project"}

func gitlabPerms() *perms {
	return &perms{forge: "gitlab", table: map[string]forge.Permission{
		"alice": forge.PermissionMaintain, "bob": forge.PermissionRead, "dev": forge.PermissionWrite,
		"nobody": forge.PermissionNone, "mallory": forge.PermissionAdmin,
	}}
}

func TestActor(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		user   string
		allow  bool
		reason string
	}{
		{"developer may build by default", Policy{}, "dev", true, "@dev has Developer access on group/project"},
		{"reporter may not", Policy{}, "bob", false, "@bob is not allowed to build: needs Developer access on group/project (has Guest or Reporter access)"},
		{"raised minimum", Policy{MinPermission: forge.PermissionMaintain}, "dev", false, "needs Maintainer access"},
		{"allow list admits", Policy{Allow: []string{"@Bob"}}, "bob", true, "allow list"},
		{"deny wins over allow and admin", Policy{Allow: []string{"mallory"}, Deny: []string{"MALLORY"}}, "mallory", false, "@mallory is not allowed to build: on this bot's deny list"},
		{"no access", Policy{}, "nobody", false, "(has no access)"},
		{"empty user", Policy{}, "", false, "anonymous"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.policy.Actor(context.Background(), gitlabPerms(), repo, tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.allow || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("got %+v, want allowed=%v reason containing %q", d, tt.allow, tt.reason)
			}
		})
	}
}

func TestActorGitHubWording(t *testing.T) {
	p := &perms{forge: "github", table: map[string]forge.Permission{"bob": forge.PermissionRead}}
	d, err := Policy{}.Actor(context.Background(), p, forge.Repo{FullName: "owner/repo"}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if want := "@bob is not allowed to build: needs write permission on owner/repo (has read or triage permission)"; d.Reason != want {
		t.Errorf("reason %q, want %q", d.Reason, want)
	}
}

func TestActorLookupErrorIsReturned(t *testing.T) {
	_, err := Policy{}.Actor(context.Background(), gitlabPerms(), repo, "stranger")
	if err == nil || !strings.Contains(err.Error(), "permission of stranger on group/project") {
		t.Errorf("err = %v", err)
	}
}

func TestOkToBuildFlow(t *testing.T) {
	ctx := context.Background()
	p := gitlabPerms()
	policy := Policy{}
	mr := forge.MergeRequest{Number: 3, Author: "bob", HeadSHA: "1111111111aaaa"}

	d, err := policy.MayBuild(ctx, p, repo, mr, "bob", nil)
	if err != nil || d.Allowed {
		t.Fatalf("outsider's own /build: %+v, %v", d, err)
	}
	d, err = policy.MayBuild(ctx, p, repo, mr, "alice", nil)
	if err != nil || d.Allowed || !strings.Contains(d.Reason, "author @bob needs Developer access") ||
		!strings.Contains(d.Reason, "must comment `/ok-to-build` on commit 11111111") {
		t.Fatalf("trusted /build on an outsider's MR before approval: %+v, %v", d, err)
	}

	if _, d, _ := policy.Approve(ctx, p, repo, mr, "bob", time.Now()); d.Allowed || !strings.Contains(d.Reason, "not allowed to approve builds") {
		t.Fatalf("outsider approved own MR: %+v", d)
	}
	approval, d, err := policy.Approve(ctx, p, repo, mr, "alice", time.Now())
	if err != nil || !d.Allowed || approval.HeadSHA != mr.HeadSHA || approval.By != "alice" {
		t.Fatalf("approve: %+v %+v %v", approval, d, err)
	}
	d, err = policy.MayBuild(ctx, p, repo, mr, "alice", &approval)
	if err != nil || !d.Allowed {
		t.Fatalf("after approval: %+v, %v", d, err)
	}

	pushed := mr
	pushed.HeadSHA = "2222222222bbbb"
	d, err = policy.MayBuild(ctx, p, repo, pushed, "alice", &approval)
	if err != nil || d.Allowed || !strings.Contains(d.Reason, "approval by @alice was for 11111111") {
		t.Fatalf("after a new push: %+v, %v", d, err)
	}
}

func TestForkNeedsApprovalEvenFromAMember(t *testing.T) {
	p := gitlabPerms()
	mr := forge.MergeRequest{Number: 4, Author: "alice", HeadSHA: "abc", FromFork: true, SourceRepo: forge.Repo{FullName: "alice/project"}}
	d, err := Policy{}.MergeRequest(context.Background(), p, repo, mr, nil)
	if err != nil || d.Allowed || !strings.Contains(d.Reason, "comes from a fork (alice/project)") {
		t.Fatalf("%+v, %v", d, err)
	}
	if len(p.asked) != 0 {
		t.Errorf("fork check looked up permissions %v", p.asked)
	}
	a := Approval{Repo: repo.FullName, MR: 4, HeadSHA: "abc", By: "dev"}
	if d, _ := (Policy{}).MergeRequest(context.Background(), p, repo, mr, &a); !d.Allowed {
		t.Errorf("approved fork refused: %+v", d)
	}
	other := a
	other.MR = 5
	if d, _ := (Policy{}).MergeRequest(context.Background(), p, repo, mr, &other); d.Allowed {
		t.Errorf("approval of another MR admitted this one: %+v", d)
	}
}

func TestDeniedAuthorRefusedEvenWithApproval(t *testing.T) {
	mr := forge.MergeRequest{Number: 4, Author: "mallory", HeadSHA: "abc"}
	a := Approval{Repo: repo.FullName, MR: 4, HeadSHA: "abc", By: "alice"}
	d, err := Policy{Deny: []string{"mallory"}}.MergeRequest(context.Background(), gitlabPerms(), repo, mr, &a)
	if err != nil || d.Allowed || !strings.Contains(d.Reason, "deny list") {
		t.Fatalf("%+v, %v", d, err)
	}
}

func TestMemberMRBuildsWithoutApproval(t *testing.T) {
	mr := forge.MergeRequest{Number: 4, Author: "dev", HeadSHA: "abc"}
	d, err := Policy{}.MayBuild(context.Background(), gitlabPerms(), repo, mr, "alice", nil)
	if err != nil || !d.Allowed {
		t.Fatalf("%+v, %v", d, err)
	}
}

func TestParsePermission(t *testing.T) {
	for in, want := range map[string]forge.Permission{
		"read": forge.PermissionRead, "Reporter": forge.PermissionRead, "write": forge.PermissionWrite,
		"developer": forge.PermissionWrite, "": forge.PermissionWrite, "maintainer": forge.PermissionMaintain,
		"admin": forge.PermissionAdmin, "owner": forge.PermissionAdmin,
	} {
		if got, err := ParsePermission(in); err != nil || got != want {
			t.Errorf("ParsePermission(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParsePermission("root"); err == nil {
		t.Error("root accepted")
	}
}
