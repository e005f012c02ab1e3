package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/checks"
	"github.com/imagebot/imagebot/runner/inventory"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/sbom"
	"github.com/imagebot/imagebot/runner/testenv"
)

// checkInventoryMatchesGuest compares the offline inventory and the SBOM of
// a real build with what dpkg-query printed inside the booted image
// ("ii  name version arch" lines), package for package.
func checkInventoryMatchesGuest(t *testing.T, invPath, sbomPath, manifestPath, dpkgQuery, version string) {
	t.Helper()
	guest := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(dpkgQuery), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && f[0] == "ii" {
			guest[f[1]+":"+f[3]] = f[2]
		}
	}
	if len(guest) < 100 {
		t.Fatalf("dpkg-query in the guest listed only %d packages:\n%s", len(guest), dpkgQuery)
	}
	inv, err := inventory.ReadFile(invPath)
	if err != nil {
		t.Fatal(err)
	}
	offline := map[string]string{}
	for _, p := range inv.Packages {
		offline[p.Key()] = p.Version
	}
	for k, v := range guest {
		if offline[k] != v {
			t.Errorf("package %s: guest has %q, offline inventory %q", k, v, offline[k])
		}
	}
	for k := range offline {
		if _, ok := guest[k]; !ok {
			t.Errorf("package %s in the offline inventory, not in the guest", k)
		}
	}
	if offline["imagebot-motd:all"] != version {
		t.Errorf("imagebot-motd = %q, want %q", offline["imagebot-motd:all"], version)
	}
	if inv.OS.ID != "debian" || inv.OS.Version != "12" || !strings.HasSuffix(inv.Kernel, "-amd64") {
		t.Errorf("os %+v kernel %q", inv.OS, inv.Kernel)
	}
	f, err := os.Open(sbomPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bom, err := sbom.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(*bom.Components) - 1; n != len(guest) { // less the OS component
		t.Errorf("SBOM has %d package components, the guest %d packages", n, len(guest))
	}
	m, err := manifest.Read(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	if m.Inventory == nil || m.Inventory.Packages != len(guest) || m.Inventory.PackageManager != "dpkg" {
		t.Errorf("manifest inventory %+v", m.Inventory)
	}
	// The Debian chain's leaf is hygiene-clean: the template's password no
	// longer opens root, and the free space was discarded before compaction.
	for _, h := range m.Hygiene {
		t.Errorf("hygiene finding on debian12-app: %s: %s", h.Check, h.Detail)
	}
	// e2fsck may write a few metadata blocks that were holes: allow 1 MiB.
	if c := m.Compaction; c == nil || c.DataBytesAfter <= 0 || c.DataBytesAfter > c.DataBytesBefore+1<<20 {
		t.Errorf("manifest compaction %+v", c)
	} else {
		t.Logf("sparsify: data %d -> %d bytes in %.1fs", c.DataBytesBefore, c.DataBytesAfter, c.Seconds)
	}
	for _, f := range m.Files {
		if f.Format == "qcow2" && (f.SizeBefore <= f.Size || f.Size <= 0) {
			t.Errorf("qcow2 size before %d, after %d", f.SizeBefore, f.Size)
		}
	}
	t.Logf("offline inventory = dpkg-query in the guest: %d packages; kernel %s; inventory read in %.1fs; hygiene %+v",
		len(guest), inv.Kernel, m.Inventory.Seconds, m.Hygiene)
}

// TestHygieneStrictFailsBuildAndLeavesNoArtifacts builds the "dirty" test
// image (a real partitioned ext4 disk with a baked SSH host key and a root
// shell history) under hygiene: strict: the build fails naming the finding,
// and only build.log stays in the output directory.
func TestHygieneStrictFailsBuildAndLeavesNoArtifacts(t *testing.T) {
	for _, tool := range []string{"qemu-img", "sfdisk", "mkfs.ext4", "debugfs"} {
		testenv.Tool(t, tool)
	}
	cat := testRepo(t)
	r, _ := testRunner(t, nil)
	out := t.TempDir()
	res, err := r.Build(context.Background(), cat, Request{Image: "dirty", OutDir: out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed || !strings.Contains(res.Error, "hygiene: strict") || !strings.Contains(res.Error, "ssh-host-keys") {
		t.Fatalf("status %s, error %q", res.Status, res.Error)
	}
	log, _ := os.ReadFile(filepath.Join(out, "build.log"))
	for _, want := range []string{"inventory: Debian GNU/Linux 12 (bookworm), kernel 6.1.0-28-amd64, 1 dpkg packages",
		"hygiene error: ssh-host-keys", "hygiene error: shell-history: /root/.bash_history"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if left := leftovers(t, out, "build.log"); len(left) > 0 {
		t.Errorf("output directory holds %v after a hygiene failure", left)
	}
}

// checkChecksRan: the real build ran resources/checks/debian12-app.yaml in
// its booted artifact and every check passed.
func checkChecksRan(t *testing.T, res *Result) {
	t.Helper()
	if len(res.Checks) < 9 {
		t.Fatalf("only %d checks ran: %+v", len(res.Checks), res.Checks)
	}
	for _, c := range res.Checks {
		if !c.Passed {
			t.Errorf("check %s failed: %s", c.Check, c.Detail)
		}
	}
	// root has no password in debian12-app: the checks got in with the key
	// imagebot handed to the guest (runner/checks/key.go).
	if log, _ := os.ReadFile(res.LogPath); !strings.Contains(string(log), "(root with imagebot's key)") {
		t.Errorf("the checks did not log in with imagebot's key:\n%s", log)
	}
	t.Logf("checks in the booted artifact: %s", checks.Summary(res.Checks))
}

// checkFailingCheckFailsBuild builds debian12-app again with a check file
// holding one check that cannot pass: the build fails naming it, the result
// lists it, and only build.log is left (nothing to publish).
func checkFailingCheckFailsBuild(t *testing.T, r *Runner, cat *catalog.Catalog) {
	t.Helper()
	img := cat.Images["debian12-app"]
	saved := img.Env.Checks
	img.Env.Checks = []string{"failing-example"}
	defer func() { img.Env.Checks = saved }()
	out := t.TempDir()
	res, err := r.Build(context.Background(), cat, Request{Image: "debian12-app", Version: "1.2.1-e2e.fail", OutDir: out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed || !strings.Contains(res.Error, "checks: 1 passed, 1 failed: port tcp:8080") {
		t.Fatalf("status %s, error %q", res.Status, res.Error)
	}
	failed := 0
	for _, c := range res.Checks {
		if !c.Passed {
			failed++
		}
	}
	if failed != 1 || len(res.Checks) != 2 {
		t.Errorf("checks %+v", res.Checks)
	}
	if left := leftovers(t, out, "build.log"); len(left) > 0 {
		t.Errorf("a build with a failed check left %v", left)
	}
}
