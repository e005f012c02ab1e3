package lifecycle

import (
	"testing"

	"github.com/imagebot/imagebot/bot/config"
)

func TestCascadesArePerRepositoryWhenListed(t *testing.T) {
	for _, tc := range []struct {
		c    config.Cascade
		repo string
		want bool
	}{
		{config.Cascade{}, "infra/images", false},
		{config.Cascade{Enabled: true}, "infra/images", true},
		{config.Cascade{Enabled: true, Repositories: []config.RefreshRepo{{Forge: "gitlab", Repo: "infra/images"}}}, "infra/images", true},
		{config.Cascade{Enabled: true, Repositories: []config.RefreshRepo{{Forge: "gitlab", Repo: "infra/images"}}}, "team/other", false},
		{config.Cascade{Enabled: true, Repositories: []config.RefreshRepo{{Forge: "github", Repo: "infra/images"}}}, "infra/images", false},
	} {
		l := New(Deps{Cascade: tc.c})
		if got := l.cascades("gitlab", tc.repo); got != tc.want {
			t.Errorf("%+v, gitlab %s: %v, want %v", tc.c, tc.repo, got, tc.want)
		}
	}
}
