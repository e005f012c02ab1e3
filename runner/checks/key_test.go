package checks

import (
	"bytes"
	"encoding/base64"
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
