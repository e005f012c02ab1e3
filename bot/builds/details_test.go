package builds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/report"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/checks"
	"github.com/imagebot/imagebot/runner/inventory"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

// inv is an inventory of "name=version" packages.
func inv(pkgs ...string) *inventory.Inventory {
	i := &inventory.Inventory{Kernel: "6.1.0-28-amd64", PackageManager: "dpkg", OS: inventory.OS{PrettyName: "Debian GNU/Linux 12 (bookworm)"}}
	for _, p := range pkgs {
		name, ver, _ := strings.Cut(p, "=")
		i.Packages = append(i.Packages, inventory.Package{Name: name, Version: ver, Arch: "amd64"})
	}
	return i
}

func sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// publishRelease puts app@version into st as a release is published: the
// disk, the inventory (nil: a release made before inventories) and the
// manifest listing them.
func publishRelease(t *testing.T, st store.Store, version string, i *inventory.Inventory) {
	t.Helper()
	dir := t.TempDir()
	disk := filepath.Join(dir, "app-"+version+".qcow2")
	writeFile(t, disk, make([]byte, 3000))
	files := []store.LocalFile{{Name: filepath.Base(disk), Path: disk}}
	m := &manifest.Manifest{Image: "app", Version: version, BuildID: "app-rel-" + version, Status: "succeeded",
		Started: time.Now(), Finished: time.Now(), Files: []manifest.File{{Name: filepath.Base(disk), Format: "qcow2", Size: 3000, SHA256: sum(make([]byte, 3000))}}}
	if i != nil {
		data, err := inventory.Marshal(i)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "app-"+version+"."+inventory.Ext)
		writeFile(t, p, data)
		files = append(files, store.LocalFile{Name: filepath.Base(p), Path: p})
		m.Files = append(m.Files, manifest.File{Name: filepath.Base(p), Format: "inventory", Size: int64(len(data)), SHA256: sum(data)})
	}
	data, err := manifest.Marshal(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Publish(context.Background(), st, store.Release("app", version).Prefix(), files, data, store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
}

// buildResult is a finished build of app as the runner returns it: its
// files on disk (qcow2, inventory, manifest with hygiene findings), checks,
// per-source artifacts and skipped sources.
func buildResult(t *testing.T, status runner.Status, i *inventory.Inventory, cs []checks.Result) *runner.Result {
	t.Helper()
	dir := t.TempDir()
	res := &runner.Result{Status: status, Image: "app", Version: "0.0.0-mr7", Checks: cs,
		Skipped: []string{"amazon-ebs.web: this runner has no amazon capability"},
		Artifacts: []runner.SourceArtifact{{Source: "qemu.app", Files: []string{"app.qcow2"}},
			{Source: "amazon-ebs.web", IDs: map[string]string{"eu-west-1": "ami-0a1", "us-east-1": "ami-0b2"}}}}
	if status != runner.StatusSucceeded {
		return res // the runner's cleanup removed every file
	}
	disk := filepath.Join(dir, "app.qcow2")
	writeFile(t, disk, make([]byte, 4000))
	res.Files = append(res.Files, runner.File{Name: "app.qcow2", Path: disk, Format: "qcow2", Size: 4000})
	if i != nil {
		data, _ := inventory.Marshal(i)
		p := filepath.Join(dir, "app."+inventory.Ext)
		writeFile(t, p, data)
		res.Files = append(res.Files, runner.File{Name: filepath.Base(p), Path: p, Format: "inventory"})
	}
	m := &manifest.Manifest{Image: "app", Version: res.Version, BuildID: "b1", Status: "succeeded", Started: time.Now(), Finished: time.Now(),
		Hygiene: []manifest.HygieneFinding{{Check: "ssh-host-keys", Detail: "/etc/ssh/ssh_host_ed25519_key is baked in"}}}
	p := filepath.Join(dir, manifest.FileName)
	if err := manifest.Write(p, m, nil); err != nil {
		t.Fatal(err)
	}
	res.Files = append(res.Files, runner.File{Name: manifest.FileName, Path: p, Format: "manifest"})
	return res
}

func TestBuildDetailsForTheMRComment(t *testing.T) {
	const secret = "glpat-Det4ils-Secret"
	passed := []checks.Result{{File: "app", Check: "service ssh", Line: 2, Passed: true}, {File: "app", Check: "port tcp:22", Line: 5, Passed: true}}
	failing := append(passed[:2:2], checks.Result{File: "failing-example", Check: "port tcp:8080", Line: 3, Detail: "not listening; token " + secret})
	newInv := inv("bash=5.2.15-2", "curl=7.88.1-10+deb12u8", "jq=1.6-2.1")
	for _, tc := range []struct {
		name     string
		release  func(t *testing.T, st store.Store)
		res      func(t *testing.T) *runner.Result
		want     []string
		notWant  []string
		packages int
	}{
		{name: "diff against the latest release",
			release: func(t *testing.T, st store.Store) {
				publishRelease(t, st, "1.0.0", inv("bash=5.2.15-1", "curl=7.88.1-10"))
				publishRelease(t, st, "1.1.0", inv("bash=5.2.15-2", "curl=7.88.1-10"))
			},
			res: func(t *testing.T) *runner.Result { return buildResult(t, runner.StatusSucceeded, newInv, passed) },
			want: []string{"| +1 ~1 packages<br>checks: 2 passed<br>hygiene: 1 finding |",
				"<details><summary>changes against app 1.1.0: +1 ~1 packages</summary>", "| + | `jq` | `1.6-2.1` |",
				"| ~ | `curl` | `7.88.1-10` → `7.88.1-10+deb12u8` |", "| qcow2 | 2.9 KiB | 3.9 KiB | +1000 B |",
				"- ⚠️ hygiene warning: `ssh-host-keys`: /etc/ssh/ssh\\_host\\_ed25519\\_key is baked in",
				"- ☁️ `amazon-ebs.web`: eu-west-1 `ami-0a1`, us-east-1 `ami-0b2`",
				"- ⏭️ not built: amazon-ebs.web: this runner has no amazon capability"},
			notWant: []string{"first build"}, packages: 3},
		{name: "first build",
			release: func(*testing.T, store.Store) {},
			res:     func(t *testing.T) *runner.Result { return buildResult(t, runner.StatusSucceeded, newInv, nil) },
			want:    []string{"| first build: 3 packages<br>hygiene: 1 finding |"}, notWant: []string{"changes against"}, packages: 3},
		{name: "release without inventory",
			release: func(t *testing.T, st store.Store) { publishRelease(t, st, "1.0.0", nil) },
			res:     func(t *testing.T) *runner.Result { return buildResult(t, runner.StatusSucceeded, newInv, nil) },
			want:    []string{"- no diff: app 1.0.0 was published without a package list"}, packages: 3},
		{name: "disk not readable offline",
			release: func(t *testing.T, st store.Store) { publishRelease(t, st, "1.0.0", inv("bash=1")) },
			res:     func(t *testing.T) *runner.Result { return buildResult(t, runner.StatusSucceeded, nil, nil) },
			want:    []string{"- no package list: the disk could not be read offline (see the log)"}},
		{name: "failed check fails the build and is named",
			release: func(*testing.T, store.Store) {},
			res: func(t *testing.T) *runner.Result {
				r := buildResult(t, runner.StatusFailed, nil, failing)
				return r
			},
			want:    []string{"| checks: 2 passed, 1 failed |", "- ❌ check failed: `port tcp:8080` (`failing-example.yaml:3`): not listening; token \\[REDACTED\\]"},
			notWant: []string{secret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := local.New(store.LocalConfig{Dir: t.TempDir(), BaseURL: "http://127.0.0.1/download"})
			if err != nil {
				t.Fatal(err)
			}
			tc.release(t, st)
			cfg := config.Config{}
			cfg.GitLab.Token = secret
			b := NewPipeline(Deps{Store: st, Secrets: cfg.Secrets, Log: zerolog.Nop()})
			d := b.details(context.Background(), tc.res(t), st, false)
			if d.Packages != tc.packages {
				t.Errorf("packages %d, want %d", d.Packages, tc.packages)
			}
			out := report.Render(report.View{Now: time.Now(), Rows: []report.Row{{Image: "app", SHA: "4c8d2a6f", Status: "succeeded", Details: d}}}, 1<<20)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("comment lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("comment has %q:\n%s", w, out)
				}
			}
		})
	}
}
