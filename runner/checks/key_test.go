package checks

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// The SMBIOS string carries exactly one authorized_keys line for the key
// Boot logs in with, in the form systemd imports (binary credential, base64).
func TestBootKeyCredential(t *testing.T) {
	k, err := newBootKey()
	if err != nil {
		t.Fatal(err)
	}
	arg := k.smbiosCredential()
	const prefix = "type=11,value=io.systemd.credential.binary:ssh.authorized_keys.root="
	if !strings.HasPrefix(arg, prefix) || strings.Contains(arg, ",value=,") {
		t.Fatalf("argument %q", arg)
	}
	line, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(arg, prefix))
	if err != nil {
		t.Fatal(err)
	}
	pub, comment, _, rest, err := ssh.ParseAuthorizedKey(line)
	if err != nil || len(rest) != 0 || comment != "imagebot-checks" {
		t.Fatalf("authorized_keys line %q: %v (comment %q, rest %q)", line, err, comment, rest)
	}
	if !bytes.Equal(pub.Marshal(), k.signer.PublicKey().Marshal()) {
		t.Error("the credential is not the login key")
	}
	other, _ := newBootKey()
	if other.public == k.public {
		t.Error("two boots share a key")
	}
}

func TestLoginsOrder(t *testing.T) {
	k, _ := newBootKey()
	ways := logins(k, "debian", "pw", ssh.ClientConfig{})
	if len(ways) != 2 || ways[0].cfg.User != "root" || ways[1].cfg.User != "debian" || ways[1].what != "debian with the template's password" {
		t.Errorf("logins %+v", ways)
	}
	if ways := logins(k, "root", "", ssh.ClientConfig{}); len(ways) != 1 || ways[0].what != "root with imagebot's key" {
		t.Errorf("no password: %+v", ways)
	}
}

// The machine the checks boot: the artifact's overlay stays the first disk,
// a NoCloud seed (when asked for) is a read-only second one holding this
// boot's key, and nothing but one loopback port reaches the guest.
func TestQemuArgs(t *testing.T) {
	k, _ := newBootKey()
	dir := t.TempDir()
	g := &Guest{overlay: "/w/overlay.qcow2", console: "/w/console.log"}
	plain := strings.Join(qemuArgs(BootOptions{Accel: "tcg", SMP: 2, CPU: "max"}, g, k, 2222), " ")
	for _, want := range []string{"-accel tcg,thread=multi", "-smp 2", "-cpu max", "-drive file=/w/overlay.qcow2,if=virtio,format=qcow2 -netdev",
		"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22", "-smbios " + k.smbiosCredential()} {
		if !strings.Contains(plain, want) {
			t.Errorf("args %q lack %q", plain, want)
		}
	}
	if err := g.writeSeed(dir, k); err != nil {
		t.Fatal(err)
	}
	seeded := strings.Join(qemuArgs(BootOptions{Accel: "kvm", SMP: 1}, g, k, 2222), " ")
	want := "-drive file=/w/overlay.qcow2,if=virtio,format=qcow2 -drive file=" + g.seed + ",if=virtio,format=raw,readonly=on -netdev"
	if !strings.Contains(seeded, want) || !strings.Contains(seeded, "-accel kvm -m") || strings.Contains(seeded, "-cpu") {
		t.Errorf("args %q lack %q", seeded, want)
	}
	data, err := os.ReadFile(g.seed)
	if err != nil || !bytes.Contains(data, []byte(strings.Fields(k.public)[1])) {
		t.Errorf("the seed does not hold this boot's key (%v)", err)
	}
	g.overlay = filepath.Join(dir, "overlay.qcow2")
	os.WriteFile(g.overlay, nil, 0o600)
	if err := g.removeFiles(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("left after the boot: %v", left)
	}
}
