package store

import "testing"

// TestOwnerOf: a key of the whole bucket belongs to the repository its
// prefix names, the root layout to the one mapped to "" (or none).
func TestOwnerOf(t *testing.T) {
	mapped := Config{Repositories: map[string]string{"gitlab:infra/images": "images", "github:acme/legacy": ""}}
	derived := Config{}
	for _, tc := range []struct {
		cfg         Config
		key         string
		forge, repo string
		ok          bool
	}{
		{mapped, "_repo/images/rocky9/releases/1.0.0/rocky9.qcow2", "gitlab", "infra/images", true},
		{mapped, "rocky9/releases/1.0.0/rocky9.qcow2", "github", "acme/legacy", true},
		{mapped, "", "github", "acme/legacy", true},
		{mapped, "_repo/other/rocky9/releases/1.0.0/rocky9.qcow2", "", "", false},
		{derived, "_repo/gitlab~infra~images/rocky9/mr/3/abc/x.qcow2", "gitlab", "infra/images", true},
		{derived, "rocky9/releases/1.0.0/rocky9.qcow2", "", "", false},
	} {
		forge, repo, ok := tc.cfg.OwnerOf(tc.key)
		if forge != tc.forge || repo != tc.repo || ok != tc.ok {
			t.Errorf("OwnerOf(%q) = %q, %q, %v; want %q, %q, %v", tc.key, forge, repo, ok, tc.forge, tc.repo, tc.ok)
		}
	}
}
