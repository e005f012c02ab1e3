package bot_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/runner/inventory"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/testenv"
)

// The pkgs image is built without a VM: its provisioner makes a small
// partitioned ext4 disk holding a Debian-like tree whose dpkg status lists
// PKGS (a hostile package name among them) and a shell history; the
// runner's offline inspection reads it like any built disk. Its template
// also has an amazon-ebs source, which a runner without the amazon
// capability never starts.
const pkgsTemplate = `variable "output_directory" {
  type = string
}

source "null" "pkgs" {
  communicator = "none"
}

source "amazon-ebs" "web" {
  region        = "eu-west-1"
  source_ami    = "ami-00000000"
  instance_type = "t3.micro"
  ssh_username  = "admin"
  ami_name      = "pkgs"
}

build {
  sources = ["source.null.pkgs", "source.amazon-ebs.web"]

  provisioner "shell-local" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["OUT=${var.output_directory}"]
  }

  post-processor "artifice" {
    only  = ["null.pkgs"]
    files = ["${var.output_directory}/disk.qcow2"]
  }
}
`

const pkgsProvisioner = `#!/bin/sh
set -eu
tree="$OUT/tree"
mkdir -p "$tree/etc" "$tree/var/lib/dpkg" "$tree/boot" "$tree/root"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' >"$tree/etc/os-release"
: >"$tree/var/lib/dpkg/status"
for p in dpkg=1.21.22 curl=7.88.1-10+deb12u8 jq=1.6-2.1 'evil|</details><img src=x onerror=alert(1)>@all=1'; do
  printf 'Package: %s\nStatus: install ok installed\nArchitecture: amd64\nVersion: %s\n\n' "${p%%=*}" "${p#*=}" >>"$tree/var/lib/dpkg/status"
done
: >"$tree/boot/vmlinuz-6.1.0-28-amd64"
echo "ls" >"$tree/root/.bash_history"
truncate -s 32M "$OUT/disk.raw"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$OUT/disk.raw"
mkfs.ext4 -q -F -E offset=1048576 -d "$tree" "$OUT/disk.raw" 30M
qemu-img convert -O qcow2 "$OUT/disk.raw" "$OUT/disk.qcow2"
rm -rf "$tree" "$OUT/disk.raw"
`

func TestMRCommentShowsPackageDiffHygieneAndSkippedSources(t *testing.T) {
	for _, tool := range []string{"qemu-img", "sfdisk", "mkfs.ext4", "debugfs"} {
		testenv.Tool(t, tool)
	}
	gl, repo, _ := aliceMR(t, "base")
	dir := filepath.Join(repo.dir, "images", "pkgs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(dir, "pkgs.pkr.hcl"), pkgsTemplate, 0o644)
	writeTestFile(t, filepath.Join(dir, "provisioner.sh"), pkgsProvisioner, 0o755)
	writeTestFile(t, filepath.Join(dir, "env.yaml"), "name: pkgs\nversion: 1.1.0\ndescription: test image with a package list\n"+
		"os: {family: linux, name: debian, version: \"12\", arch: x86_64}\nformats: [qcow2]\ntimeout: 5m\n", 0o644)
	sha := repo.commit(t, "pkgs: add jq")
	setMR(gl, "alice", sha)
	var st store.Store
	tb := startBotFor(t, gl, gl.URL, gitlabForge(t, gl), func(d *bot.Deps) { st = d.Publish.(*bot.StorePublisher).Store })
	publishTestRelease(t, st, "pkgs", "1.0.0", map[string]string{"dpkg": "1.21.22", "curl": "7.88.1-10", "gone": "2.0"})

	if code := tb.sendNote(t, repo, "alice", "/build pkgs", sha); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d, want 202", code)
	}
	waitFor(t, "commit status imagebot/pkgs to end", 3*time.Minute, func() bool {
		s := gl.LastStatus(sha, "imagebot/pkgs").State
		return s == "success" || s == "failed"
	})
	waitFor(t, "the comment to show the diff", time.Minute, func() bool { return strings.Contains(comment(t, gl), "changes against") })
	body := comment(t, gl)
	if gl.LastStatus(sha, "imagebot/pkgs").State != "success" {
		t.Fatalf("build failed:\n%s", body)
	}
	for _, want := range []string{
		"| +2 −1 ~1 packages<br>hygiene: 1 finding |",
		"<details><summary>changes against pkgs 1.0.0: +2 −1 ~1 packages</summary>",
		"| + | `jq` | `1.6-2.1` |", "| − | `gone` | `2.0` |", "| ~ | `curl` | `7.88.1-10` → `7.88.1-10+deb12u8` |",
		"hygiene warning: `shell-history`", "not built: amazon-ebs.web",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
	if strings.Count(body, "</details>") != strings.Count(body, "<details>") || strings.Contains(body, "<img") || strings.Contains(body, "@all") {
		t.Errorf("the hostile package name got through:\n%s", body)
	}
}

func writeTestFile(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

// publishTestRelease publishes image@version with an inventory of pkgs
// (name -> version) and a small qcow2, as a release is stored.
func publishTestRelease(t *testing.T, st store.Store, image, version string, pkgs map[string]string) {
	t.Helper()
	dir := t.TempDir()
	inv := &inventory.Inventory{Image: image, Version: version, Kernel: "6.1.0-28-amd64", PackageManager: "dpkg",
		OS: inventory.OS{PrettyName: "Debian GNU/Linux 12 (bookworm)"}}
	for n, v := range pkgs {
		inv.Packages = append(inv.Packages, inventory.Package{Name: n, Version: v, Arch: "amd64"})
	}
	invData, err := inventory.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	m := &manifest.Manifest{Image: image, Version: version, BuildID: image + "-release", Status: "succeeded", Started: time.Now(), Finished: time.Now()}
	var files []store.LocalFile
	for name, f := range map[string]struct {
		format string
		data   []byte
	}{image + "-" + version + ".qcow2": {"qcow2", make([]byte, 4096)}, image + "-" + version + "." + inventory.Ext: {"inventory", invData}} {
		p := filepath.Join(dir, name)
		writeTestFile(t, p, string(f.data), 0o644)
		sum := sha256.Sum256(f.data)
		files = append(files, store.LocalFile{Name: name, Path: p})
		m.Files = append(m.Files, manifest.File{Name: name, Format: f.format, Size: int64(len(f.data)), SHA256: hex.EncodeToString(sum[:])})
	}
	data, err := manifest.Marshal(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Publish(context.Background(), st, store.Release(image, version).Prefix(), files, data, store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
}
