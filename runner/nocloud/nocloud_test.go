package nocloud

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/imagebot/imagebot/runner/testenv"
)

const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFJd9xVVg3Ul1oTGaSd0C1CItfqbGDCm5TClIJLIXyI3 imagebot-checks"

// The seed is read back with tools that are not go-diskfs: blkid (what
// cloud-init's ds-identify and NoCloud use to find the seed by its label)
// and xorriso (the files, by their Rock Ridge names).
func TestWriteReadBack(t *testing.T) {
	blkid := testenv.Tool(t, "blkid")
	xorriso := testenv.Tool(t, "xorriso")
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.iso")
	id, err := NewInstanceID()
	if err != nil {
		t.Fatal(err)
	}
	s := Seed{InstanceID: id, AuthorizedKeys: []string{testKey + "\n"}}
	if err := Write(seed, s); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(blkid, "-p", "-o", "export", seed).CombinedOutput()
	if err != nil {
		t.Fatalf("blkid: %v: %s", err, out)
	}
	for _, want := range []string{"TYPE=iso9660", "LABEL=" + Label} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("blkid says\n%s\nwant %s", out, want)
		}
	}
	ext := filepath.Join(dir, "x")
	if out, err := exec.Command(xorriso, "-osirrox", "on", "-indev", seed, "-extract", "/", ext).CombinedOutput(); err != nil {
		t.Fatalf("xorriso: %v: %s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(ext, "*"))
	if len(names) != 2 {
		t.Errorf("files in the seed: %v", names)
	}
	meta, err := os.ReadFile(filepath.Join(ext, "meta-data"))
	if err != nil {
		t.Fatal(err)
	}
	var md map[string]string
	if err := yaml.Unmarshal(meta, &md); err != nil || md["instance-id"] != id {
		t.Errorf("meta-data %q: %v", meta, err)
	}
	user, err := os.ReadFile(filepath.Join(ext, "user-data"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(user), "#cloud-config\n") {
		t.Errorf("user-data does not start with #cloud-config: %q", user)
	}
	var ud struct {
		DisableRoot *bool    `yaml:"disable_root"`
		Keys        []string `yaml:"ssh_authorized_keys"`
	}
	if err := yaml.Unmarshal(user, &ud); err != nil {
		t.Fatalf("user-data: %v\n%s", err, user)
	}
	if ud.DisableRoot == nil || *ud.DisableRoot || len(ud.Keys) != 1 || ud.Keys[0] != testKey {
		t.Errorf("user-data %+v from\n%s", ud, user)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".nocloud-*"))
	if len(leftovers) != 0 {
		t.Errorf("work dirs left: %v", leftovers)
	}
}

func TestInstanceIDsDiffer(t *testing.T) {
	a, _ := NewInstanceID()
	b, _ := NewInstanceID()
	if a == b || !strings.HasPrefix(a, "imagebot-") {
		t.Errorf("%q %q", a, b)
	}
}

func TestWriteRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	for name, s := range map[string]Seed{
		"no instance-id":    {AuthorizedKeys: []string{testKey}},
		"instance-id lines": {InstanceID: "a\nb: c"},
		"key lines":         {InstanceID: "x", AuthorizedKeys: []string{testKey + "\nruncmd: [reboot]"}},
	} {
		if err := Write(filepath.Join(dir, "s.iso"), s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
