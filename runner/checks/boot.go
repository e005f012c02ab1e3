package checks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// BootOptions say how to boot an artifact for its checks.
type BootOptions struct {
	Qemu, QemuImg string // binaries; "" means the names on PATH
	Accel         string // tcg or kvm
	WorkDir       string // the throwaway overlay and console log go here
	User          string
	Password      string
	// Timeout bounds the wait for SSH (TCG on a shared host is slow).
	Timeout time.Duration
}

// Guest is a booted artifact reached over SSH.
type Guest struct {
	Login   string // how Boot logged in, e.g. "root with imagebot's key"
	qemu    *exec.Cmd
	client  *ssh.Client
	console string
	overlay string
}

// Boot starts disk under QEMU from its own bootloader on a throwaway qcow2
// overlay (the artifact is never written), forwards a loopback port to its
// SSH server and logs in: as root with a key made for this boot and handed
// to the guest as a systemd credential (key.go), else with the template's
// user and password. Close stops the machine and removes the overlay.
func Boot(ctx context.Context, disk string, o BootOptions) (*Guest, error) {
	if o.Qemu == "" {
		o.Qemu = "qemu-system-x86_64"
	}
	if o.QemuImg == "" {
		o.QemuImg = "qemu-img"
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Minute
	}
	abs, err := filepath.Abs(disk)
	if err != nil {
		return nil, err
	}
	g := &Guest{overlay: filepath.Join(o.WorkDir, "checks-overlay.qcow2"), console: filepath.Join(o.WorkDir, "checks-console.log")}
	if out, err := exec.CommandContext(ctx, o.QemuImg, "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", abs, g.overlay).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("checks: overlay on %s: %v: %s", disk, err, bytes.TrimSpace(out))
	}
	port, err := freePort()
	if err != nil {
		os.Remove(g.overlay)
		return nil, err
	}
	key, err := newBootKey()
	if err != nil {
		os.Remove(g.overlay)
		return nil, err
	}
	g.qemu = exec.Command(o.Qemu, "-accel", o.Accel, "-m", "1024", "-smp", "1", "-display", "none",
		"-serial", "file:"+g.console, "-no-reboot", "-smbios", key.smbiosCredential(),
		"-drive", "file="+g.overlay+",if=virtio,format=qcow2",
		"-netdev", "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:"+strconv.Itoa(port)+"-:22",
		"-device", "virtio-net-pci,netdev=n0")
	// restrict=on: the guest reaches nothing but the forwarded port.
	g.qemu.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := g.qemu.Start(); err != nil {
		os.Remove(g.overlay)
		return nil, fmt.Errorf("checks: start qemu: %w", err)
	}
	ways := logins(key, o.User, o.Password, ssh.ClientConfig{
		Timeout: 15 * time.Second,
		// The guest made its host keys at this boot: there is nothing to pin.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
	})
	deadline := time.Now().Add(o.Timeout)
	for i := 0; ; i++ {
		way := ways[i%len(ways)]
		g.client, err = ssh.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port), way.cfg)
		if err == nil {
			g.Login = way.what
			return g, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			g.Close()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("checks: no SSH from the booted artifact after %s: %v; console ends:\n%s", o.Timeout, err, g.ConsoleTail(20))
		}
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("checks: pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Run runs cmd in the guest.
func (g *Guest) Run(ctx context.Context, cmd string) (string, int, error) {
	s, err := g.client.NewSession()
	if err != nil {
		return "", 0, err
	}
	defer s.Close()
	var out bytes.Buffer
	s.Stdout = &out
	done := make(chan error, 1)
	go func() { done <- s.Run(cmd) }()
	select {
	case <-ctx.Done():
		return "", 0, ctx.Err()
	case err = <-done:
	}
	var exit *ssh.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), exit.ExitStatus(), nil
	case err != nil:
		return "", 0, err
	}
	return out.String(), 0, nil
}

// ConsoleTail returns the last n lines of the serial console.
func (g *Guest) ConsoleTail(n int) string {
	data, _ := os.ReadFile(g.console)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Close stops the machine (its whole process group) and removes the overlay.
func (g *Guest) Close() error {
	if g.client != nil {
		g.client.Close()
	}
	if g.qemu != nil && g.qemu.Process != nil {
		_ = syscall.Kill(-g.qemu.Process.Pid, syscall.SIGKILL)
		_ = g.qemu.Wait()
	}
	return os.Remove(g.overlay)
}
