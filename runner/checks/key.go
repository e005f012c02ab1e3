package checks

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"

	"github.com/imagebot/imagebot/runner/nocloud"

	"golang.org/x/crypto/ssh"
)

// A key for one boot: imagebot logs in with it where the image no longer
// accepts the template's password (the build locked it, as hygiene asks).
//
// The public half reaches the guest as the systemd credential
// ssh.authorized_keys.root, passed in an SMBIOS type 11 string
// (io.systemd.credential.binary:NAME=BASE64). systemd 252 and later (Debian
// 12, RHEL 9 family) import such credentials at boot, and its
// tmpfiles.d/provision.conf writes this one to /root/.ssh/authorized_keys
// when that file does not exist yet. The throwaway overlay gets the file,
// never the artifact. When the image has cloud-init, the same public half
// also goes in a NoCloud seed (writeSeed). The private half never leaves
// this process.
type bootKey struct {
	signer ssh.Signer
	public string // authorized_keys line
}

func newBootKey() (*bootKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("checks: make a login key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("checks: make a login key: %w", err)
	}
	line := string(ssh.MarshalAuthorizedKey(signer.PublicKey())) // ends in "\n"
	return &bootKey{signer: signer, public: line[:len(line)-1] + " imagebot-checks\n"}, nil
}

// smbiosCredential is the QEMU -smbios argument carrying the key.
func (k *bootKey) smbiosCredential() string {
	return "type=11,value=io.systemd.credential.binary:ssh.authorized_keys.root=" +
		base64.StdEncoding.EncodeToString([]byte(k.public))
}

// writeSeed writes a NoCloud seed that gives root (and the image's default
// user) the key, with a fresh instance-id so cloud-init applies it on this
// boot even when the image was booted with cloud-init before.
func (g *Guest) writeSeed(dir string, k *bootKey) error {
	id, err := nocloud.NewInstanceID()
	if err != nil {
		return err
	}
	g.seed = filepath.Join(dir, "checks-seed.iso")
	if err := nocloud.Write(g.seed, nocloud.Seed{InstanceID: id, AuthorizedKeys: []string{k.public}}); err != nil {
		g.seed = ""
		return fmt.Errorf("checks: %w", err)
	}
	return nil
}

// login is one way Boot tries to log in.
type login struct {
	cfg  *ssh.ClientConfig
	what string // for the log: how the checks got in
}

// logins are what Boot tries in turn: root with the injected key, then the
// template's user with its password (when the template has one).
func logins(k *bootKey, user, password string, base ssh.ClientConfig) []login {
	root := base
	root.User = "root"
	root.Auth = []ssh.AuthMethod{ssh.PublicKeys(k.signer)}
	out := []login{{&root, "root with imagebot's key"}}
	if password != "" {
		pw := base
		pw.User = user
		pw.Auth = []ssh.AuthMethod{ssh.Password(password)}
		out = append(out, login{&pw, user + " with the template's password"})
	}
	return out
}
