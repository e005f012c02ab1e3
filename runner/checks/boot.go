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
	// Format is the disk's format: qcow2 (the default) or raw (the runner
	// boots the sparsified raw copy its artifacts are converted from).
	Format   string
	WorkDir  string // the throwaway overlay and console log go here
	User     string
	Password string
	// Timeout bounds the wait for SSH (TCG on a shared host is slow).
	Timeout time.Duration
	// SMP is the number of virtual CPUs (default 2: under TCG each is a
	// host thread, and the guest's init starts its services in parallel).
	SMP int
	// NoCloud attaches a cloud-init NoCloud seed (runner/nocloud) carrying
	// the login key, read-only, beside the credential: for images that have
	// cloud-init installed.
	NoCloud bool
	// CPU is QEMU's -cpu model; "" keeps QEMU's default (qemu64 under
	// TCG). "max" was measured slower under TCG: its boot took ~70 s to SSH
	// against ~55 s (docs/inspection.md).
	CPU string
}

// Guest is a booted artifact reached over SSH.
type Guest struct {
	Login   string // how Boot logged in, e.g. "root with imagebot's key"
	qemu    *exec.Cmd
	client  *ssh.Client
	console string
	overlay string
	seed    string          // the NoCloud seed, "" without one
	exited  <-chan struct{} // closed when QEMU has exited
	waitErr error           // QEMU's exit, once exited is closed
}

// Boot starts disk under QEMU from its own bootloader on a throwaway qcow2
// overlay (disk is only read, so others may read it meanwhile: the runner
// writes its artifacts from the same file during the boot), forwards a
// loopback port to its SSH server and logs in: as root with a key made for
// this boot and handed to the guest as a systemd credential (key.go), else
// with the template's user and password. Close stops the machine and
// removes the overlay.
func Boot(ctx context.Context, disk string, o BootOptions) (*Guest, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("checks: disk %s: %w", disk, err)
	}
	g := &Guest{overlay: filepath.Join(o.WorkDir, "checks-overlay.qcow2"), console: filepath.Join(o.WorkDir, "checks-console.log")}
	if err := newOverlay(ctx, o.QemuImg, disk, o.Format, g.overlay); err != nil {
		return nil, err
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
	if o.NoCloud {
		if err := g.writeSeed(o.WorkDir, key); err != nil {
			os.Remove(g.overlay)
			return nil, err
		}
	}
	g.qemu = exec.Command(o.Qemu, qemuArgs(o, g, key, port)...)
	// Its own process group, so Close can kill all of it; and killed with
	// this process, so a killed runner leaves no machine behind.
	g.qemu.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := g.qemu.Start(); err != nil {
		g.removeFiles()
		return nil, fmt.Errorf("checks: start qemu: %w", err)
	}
	exited := make(chan struct{})
	go func() { g.waitErr = g.qemu.Wait(); close(exited) }()
	g.exited = exited
	if err := g.login(ctx, "127.0.0.1:"+strconv.Itoa(port), key, o); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

func (o BootOptions) withDefaults() (BootOptions, error) {
	if o.Qemu == "" {
		o.Qemu = "qemu-system-x86_64"
	}
	if o.QemuImg == "" {
		o.QemuImg = "qemu-img"
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.SMP == 0 {
		o.SMP = 2
	}
	if o.Format == "" {
		o.Format = "qcow2"
	}
	if o.Format != "qcow2" && o.Format != "raw" {
		return o, fmt.Errorf("format %q: want qcow2 or raw", o.Format)
	}
	return o, nil
}

// newOverlay creates the qcow2 overlay the guest writes to, on disk (of
// format) as its backing file, which stays unchanged.
func newOverlay(ctx context.Context, qemuImg, disk, format, overlay string) error {
	abs, err := filepath.Abs(disk)
	if err != nil {
		return fmt.Errorf("checks: overlay on %s: %w", disk, err)
	}
	out, err := exec.CommandContext(ctx, qemuImg, "create", "-q", "-f", "qcow2", "-F", format, "-b", abs, overlay).CombinedOutput()
	if err != nil {
		return fmt.Errorf("checks: overlay on %s: %v: %s", disk, err, bytes.TrimSpace(out))
	}
	return nil
}

// qemuArgs is the machine the checks boot: the artifact's own firmware path
// (SeaBIOS, then the disk's bootloader, kernel and init), the systemd
// credential with the login key, and one loopback port forwarded to :22.
func qemuArgs(o BootOptions, g *Guest, key *bootKey, port int) []string {
	accel := o.Accel
	if accel == "tcg" && o.SMP > 1 {
		// One host thread per virtual CPU; QEMU's default for x86 guests on
		// x86 hosts, said here so a TCG boot never falls back to one thread.
		accel = "tcg,thread=multi"
	}
	args := []string{"-accel", accel, "-m", "1024", "-smp", strconv.Itoa(o.SMP), "-display", "none",
		"-serial", "file:" + g.console, "-no-reboot", "-smbios", key.smbiosCredential()}
	if o.CPU != "" {
		args = append(args, "-cpu", o.CPU)
	}
	// The artifact first: it stays the guest's first disk (vda).
	args = append(args, "-drive", "file="+g.overlay+",if=virtio,format=qcow2")
	if g.seed != "" {
		args = append(args, "-drive", "file="+g.seed+",if=virtio,format=raw,readonly=on")
	}
	// restrict=on: the guest reaches nothing but the forwarded port.
	return append(args,
		"-netdev", "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:"+strconv.Itoa(port)+"-:22",
		"-device", "virtio-net-pci,netdev=n0")
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
		<-g.exited
	}
	return g.removeFiles()
}

func (g *Guest) removeFiles() error {
	if g.seed != "" {
		os.Remove(g.seed)
	}
	return os.Remove(g.overlay)
}
