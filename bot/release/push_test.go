package release_test

import (
	"testing"

	"github.com/imagebot/imagebot/bot/release"
)

func TestMergedNumberReadsGitLabGitHubAndSquashMessages(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want int
	}{
		{"Merge branch 'feature' into 'main'\n\nAdd a kernel\n\nSee merge request infra/images!12\n", 12},
		{"Merge pull request #34 from alice/kernel\n\nAdd a kernel", 34},
		{"rocky9: add a kernel (#56)\n\n* first\n* second", 56},
		{"rocky9: add a kernel\n\nas discussed in (#78)", 0}, // only a title's (#N) is a squash
		{"Fix typo", 0},
		{"See merge request infra/images!0", 0},
	} {
		n, ok := release.MergedNumber(tc.msg)
		if n != tc.want || ok != (tc.want > 0) {
			t.Errorf("MergedNumber(%q) = %d, %v; want %d", tc.msg, n, ok, tc.want)
		}
	}
}
