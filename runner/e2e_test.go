package runner

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/crypto/ssh"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/testenv"
)

// TestBuildDerivedImageBootsFromOwnDisk builds debian12-app for real with
// its bases (debian12-rootfs by debootstrap, debian12-base with grub), then
// proves the artifacts: qemu-img check passes, the OVA's disk is identical
// to the qcow2 and its .mf verifies, plain QEMU (no -kernel) boots
// it from its own disk to its SSH server with fresh host keys, and the
// provisioner's version file holds the version that was built. A second
// request for the base reuses it from the cache without running Packer.
func TestBuildDerivedImageBootsFromOwnDisk(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three images with Packer and QEMU")
	}
	root := testenv.RepoRoot(t)
	for _, tool := range []string{"qemu-system-x86_64", "qemu-img", "debootstrap", "sfdisk", "mkfs.ext4"} {
		testenv.Tool(t, tool)
	}
	cat, diags := catalog.Load(root)
	if diags.HasErrors() {
		t.Fatalf("catalog: %v", diags)
	}
	cache := t.TempDir()
	// Share only the debootstrap tree between runs (the mirror is slow);
	// every image is built afresh.
	shared := filepath.Join(root, ".imagebot", "cache", "debootstrap")
	if err := os.MkdirAll(shared, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(cache, "debootstrap")); err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{
		Packer: testenv.Tool(t, "packer"), PluginDir: testenv.PluginDir(t), WorkDir: t.TempDir(), CacheDir: cache,
		Accelerator: "auto", Log: zerolog.New(zerolog.NewTestWriter(t)),
		// debootstrap from the mirror; the Ansible playbook installs python3 with apt in the guest.
		NetworkImages: map[string]string{"debian12-rootfs": NetworkHost, "debian12-ansible": NetworkHost},
	})
	if err != nil {
		t.Fatal(err)
	}
	const version = "1.2.0-e2e.1"
	out := t.TempDir()
	var evs events
	started := time.Now()
	res, err := r.Build(context.Background(), cat, Request{Image: "debian12-app", Version: version, OutDir: out, WithBases: true}, evs.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built debian12-app with its bases in %s", time.Since(started).Round(time.Second))
	if res.Status != StatusSucceeded {
		log, _ := os.ReadFile(res.LogPath)
		t.Fatalf("status %s: %s (last step %q)\n%s", res.Status, res.Error, res.LastStep, log)
	}
	formats := map[string]File{}
	for _, f := range res.Files {
		formats[f.Format] = f
		if len(f.SHA256) != 64 || f.Size == 0 {
			t.Errorf("file %+v lacks a size or sha256", f)
		}
	}
	for _, want := range []string{"qcow2", "ova", "sha256", "log", "manifest", "inventory", "sbom"} {
		if _, ok := formats[want]; !ok {
			t.Errorf("no %s among %+v", want, res.Files)
		}
	}
	disk := formats["qcow2"].Path
	if out, err := exec.Command(testenv.Tool(t, "qemu-img"), "check", disk).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img check %s: %v\n%s", disk, err, out)
	}

	checkOVAFaithful(t, formats["ova"].Path, disk)

	password := variableDefault(t, cat.Images["debian12-app"], "root_password")
	got := bootAndRun(t, disk, r.Accelerator(context.Background()), password, map[string]string{
		"release": "cat /etc/imagebot-release",
		"package": "dpkg-query -W -f '${Version}' imagebot-motd",
		"keys":    "ls /etc/ssh/ssh_host_ed25519_key.pub && test -s /etc/machine-id && echo fresh",
		"cmdline": "cat /proc/cmdline",
		"dpkg":    `dpkg-query -W -f '${db:Status-Abbrev} ${Package} ${Version} ${Architecture}\n'`,
	})
	checkInventoryMatchesGuest(t, formats["inventory"].Path, formats["sbom"].Path, formats["manifest"].Path, got["dpkg"], version)
	if want := "debian12-app " + version; strings.TrimSpace(got["release"]) != want {
		t.Errorf("/etc/imagebot-release = %q, want %q", got["release"], want)
	}
	if strings.TrimSpace(got["package"]) != version {
		t.Errorf("installed package version = %q, want %q", got["package"], version)
	}
	if !strings.Contains(got["keys"], "fresh") {
		t.Errorf("host keys / machine-id not made at first boot: %q", got["keys"])
	}
	if !strings.Contains(got["cmdline"], "BOOT_IMAGE=") { // set by grub, not by -kernel
		t.Errorf("kernel command line %q does not come from grub", got["cmdline"])
	}

	checkChecksRan(t, res)
	checkFailingCheckFailsBuild(t, r, cat)

	// The base is in the cache at its digest now: asking for it reuses it.
	var again events
	res2, err := r.Build(context.Background(), cat, Request{Image: "debian12-base", OutDir: t.TempDir()}, again.add)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Status != StatusSucceeded || !res2.Reused {
		t.Fatalf("base again: status %s, reused %v: %s", res2.Status, res2.Reused, res2.Error)
	}
	if n := len(again.list()); n != 0 {
		t.Errorf("reusing the base still ran packer (%d events)", n)
	}

	buildAnsibleImage(t, r, cat)
}

// buildAnsibleImage builds debian12-ansible on the bases the test above
// left in the cache: packer init against the plugin directory (qemu and
// ansible plugins, offline), the Ansible playbook and role of
// resources/ansible/ run for real, then the image boots from its own disk
// with the role's release file and its service having run at boot.
func buildAnsibleImage(t *testing.T, r *Runner, cat *catalog.Catalog) {
	testenv.Tool(t, "ansible-playbook")
	const version = "1.0.0-e2e.1"
	out := t.TempDir()
	started := time.Now()
	res, err := r.Build(context.Background(), cat, Request{Image: "debian12-ansible", Version: version, OutDir: out, WithBases: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built debian12-ansible on the cached bases in %s", time.Since(started).Round(time.Second))
	log, _ := os.ReadFile(res.LogPath)
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s: %s (last step %q)\n%s", res.Status, res.Error, res.LastStep, log)
	}
	for _, want := range []string{"packer init (plugin directory", "TASK [imagebot-release : Write the release file]"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("build log lacks %q", want)
		}
	}
	var disk string
	for _, f := range res.Files {
		if f.Format == "qcow2" {
			disk = f.Path
		}
	}
	password := variableDefault(t, cat.Images["debian12-ansible"], "root_password")
	got := bootAndRun(t, disk, r.Accelerator(context.Background()), password, map[string]string{
		"release": "cat /etc/imagebot-release",
		"status":  "systemctl is-active imagebot-release && cat /run/imagebot-release.status",
	})
	if want := "debian12-ansible " + version; strings.TrimSpace(got["release"]) != want {
		t.Errorf("/etc/imagebot-release = %q, want %q", got["release"], want)
	}
	if want := "booted debian12-ansible " + version + " (owner platform-team)"; !strings.Contains(got["status"], want) {
		t.Errorf("service status %q, want active and %q (group_vars applied)", got["status"], want)
	}
}

func variableDefault(t *testing.T, img *catalog.Image, name string) string {
	t.Helper()
	for _, v := range img.Template.Variables {
		if v.Name == name && v.HasDefault {
			if u, err := strconv.Unquote(v.Default); err == nil {
				return u
			}
			return v.Default
		}
	}
	t.Fatalf("%s declares no default for %s", img.Name, name)
	return ""
}

// bootAndRun boots disk under plain QEMU (its own bootloader; the disk is
// not changed: snapshot=on), waits for its SSH server and runs commands.
func bootAndRun(t *testing.T, disk, accel, password string, cmds map[string]string) map[string]string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	console := filepath.Join(t.TempDir(), "console.log")
	// debian12-app has no root password any more: log in with a key given
	// as a systemd credential, as runner/checks does.
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cred := "type=11,value=io.systemd.credential.binary:ssh.authorized_keys.root=" +
		base64.StdEncoding.EncodeToString(ssh.MarshalAuthorizedKey(signer.PublicKey()))
	qemu := exec.Command(testenv.Tool(t, "qemu-system-x86_64"),
		"-accel", accel, "-m", "1024", "-smp", "1", "-display", "none",
		"-serial", "file:"+console, "-smbios", cred,
		"-drive", "file="+disk+",if=virtio,format=qcow2,snapshot=on",
		"-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:"+strconv.Itoa(port)+"-:22",
		"-device", "virtio-net-pci,netdev=n0")
	qemu.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := qemu.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		packer.KillGroup(qemu.Process.Pid)
		_ = qemu.Wait()
	}()
	var hostKey ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User: "root", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer), ssh.Password(password)}, Timeout: 10 * time.Second,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error { hostKey = key; return nil },
	}
	var client *ssh.Client
	deadline := time.Now().Add(10 * time.Minute) // TCG on a busy shared host is slow
	for {
		client, err = ssh.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), cfg)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			tail, _ := os.ReadFile(console)
			t.Fatalf("no SSH from the booted image: %v\nconsole:\n%s", err, lastLines(string(tail), 30))
		}
		time.Sleep(3 * time.Second)
	}
	defer client.Close()
	t.Logf("booted from its own disk; SSH host key %s", ssh.FingerprintSHA256(hostKey))
	got := map[string]string{}
	for name, cmd := range cmds {
		s, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.CombinedOutput(cmd)
		s.Close()
		var exit *ssh.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("%s: %v", cmd, err)
		}
		got[name] = string(out)
	}
	return got
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkOVAFaithful proves the OVA the runner published for a real build: the
// descriptor is the tar's first entry, every .mf line verifies, and the VMDK
// inside is identical to the built qcow2 by qemu-img compare.
func checkOVAFaithful(t *testing.T, ova, disk string) {
	t.Helper()
	f, err := os.Open(ova)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	var names []string
	var mf []byte
	vmdk := filepath.Join(t.TempDir(), "disk.vmdk")
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read %s: %v", ova, err)
		}
		names = append(names, h.Name)
		sum := sha256.New()
		var w io.Writer = sum
		var out *os.File
		switch {
		case strings.HasSuffix(h.Name, ".vmdk"):
			if out, err = os.Create(vmdk); err != nil {
				t.Fatal(err)
			}
			w = io.MultiWriter(sum, out)
		case strings.HasSuffix(h.Name, ".mf"):
			if mf, err = io.ReadAll(io.TeeReader(tr, sum)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := io.Copy(w, tr); err != nil {
			t.Fatalf("read %s in %s: %v", h.Name, ova, err)
		}
		if out != nil {
			out.Close()
		}
		sums[h.Name] = hex.EncodeToString(sum.Sum(nil))
	}
	if len(names) < 3 || !strings.HasSuffix(names[0], ".ovf") {
		t.Fatalf("OVA entries %v: want the .ovf descriptor first, then .mf and the disk", names)
	}
	checked := 0
	sc := bufio.NewScanner(strings.NewReader(string(mf)))
	for sc.Scan() {
		var name, sum string
		line := sc.Text()
		if _, err := fmt.Sscanf(strings.Replace(line, ")= ", " ", 1), "SHA256(%s %s", &name, &sum); err != nil {
			t.Errorf(".mf line %q: %v", line, err)
			continue
		}
		if sums[name] != sum {
			t.Errorf(".mf says %s has sha256 %s, the tar holds %s", name, sum, sums[name])
		}
		checked++
	}
	if checked != len(names)-1 {
		t.Errorf(".mf verified %d entries, want every entry but itself (%v)", checked, names)
	}
	if out, err := exec.Command(testenv.Tool(t, "qemu-img"), "compare", "-q", disk, vmdk).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img compare %s %s: the OVA's disk differs from the build: %v\n%s", disk, vmdk, err, out)
	}
}
