package bot_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/testenv"
)

// TestGitLabBuildsDebian12AppForReal is the end-to-end path on the image
// the runner builds here: `/build debian12-app` on a GitLab MR of a copy of
// this repository's debian12 images -> the runner builds it (bases from the
// shared base cache when this host has built them, else built first) ->
// published -> the comment carries the qcow2 and OVA links with sha256 and
// the status ends in success.
func TestGitLabBuildsDebian12AppForReal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds debian12-app (and its bases when not cached) with Packer and QEMU")
	}
	for _, tool := range []string{"qemu-system-x86_64", "qemu-img", "debootstrap", "sfdisk", "mkfs.ext4"} {
		testenv.Tool(t, tool)
	}
	root := testenv.RepoRoot(t)
	src := t.TempDir()
	for _, d := range []string{"images/debian12-rootfs", "images/debian12-base", "images/debian12-app", "resources", "kickstart"} {
		if err := os.CopyFS(filepath.Join(src, d), os.DirFS(filepath.Join(root, d))); err != nil {
			t.Fatal(err)
		}
	}
	gl := gitlabtest.New(t, apiToken)
	gl.SetAccess("alice", gitlabtest.Developer)
	repo := newImagesRepoFrom(t, src)
	sha := repo.commit(t, "debian12-app")
	setMR(gl, "alice", sha)
	shared := filepath.Join(root, ".imagebot", "cache") // bases by digest, shared with the runner's tests
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	tb := startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(c *runner.Config) {
		c.CacheDir, c.Accelerator = shared, "auto"
		c.NetworkImages = map[string]string{"debian12-rootfs": runner.NetworkHost} // debootstrap from the mirror
	})
	started := time.Now()
	if code := send(t, tb.srv.URL, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/build debian12-app", sha)); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	re := regexp.MustCompile("\\[(debian12-app-1\\.2\\.0\\.(?:qcow2|ova))\\]\\((http[^)]+)\\) [^`]*`sha256:([0-9a-f]{64})`")
	waitFor(t, "debian12-app to be built, published and reported", 45*time.Minute, func() bool {
		st := gl.LastStatus(sha, "imagebot/debian12-app")
		if st.State == "failed" {
			t.Fatalf("build failed:\n%s", comment(t, gl))
		}
		return st.State == "success" && len(re.FindAllString(comment(t, gl), -1)) >= 1
	})
	t.Logf("debian12-app built and reported in %s", time.Since(started).Round(time.Second))
	// The store holds no release of debian12-app: its row says how many
	// packages the offline inventory found and how its checks went.
	if row := regexp.MustCompile(`first build: \d+ packages<br>checks: \d+ passed( \||<br>)`); !row.MatchString(comment(t, gl)) {
		t.Errorf("the comment lacks the package count and passed checks:\n%s", comment(t, gl))
	}
	for _, m := range re.FindAllStringSubmatch(comment(t, gl), -1) {
		sum := sha256.Sum256(fileBytes(t, m[2]))
		if got := hex.EncodeToString(sum[:]); got != m[3] {
			t.Errorf("%s: downloaded sha256 %s, the comment says %s", m[1], got, m[3])
		}
	}
}
