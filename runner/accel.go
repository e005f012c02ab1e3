package runner

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// probeKVM reports whether a guest really runs under KVM here. An openable
// /dev/kvm is not enough (on nested hosts without vmx/svm the BIOS runs but a
// kernel never gets far), so it boots a Linux kernel under -accel kvm with no
// root filesystem and waits for the kernel's first console line.
func probeKVM(ctx context.Context, cacheDir string) (bool, string) {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return false, "/dev/kvm: " + err.Error()
	}
	f.Close()
	kernel := probeKernel(cacheDir)
	if kernel == "" {
		return false, "no Linux kernel to probe KVM with (looked in /boot and the cache); assuming it does not work"
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return false, "qemu-system-x86_64 not found"
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, qemu, "-accel", "kvm", "-cpu", "host", "-m", "256", "-display", "none",
		"-nodefaults", "-no-reboot", "-serial", "stdio", "-kernel", kernel,
		"-append", "console=ttyS0 panic=-1 earlyprintk=ttyS0")
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	_ = cmd.Run()
	if strings.Contains(out.String(), "Linux version") {
		return true, "a kernel booted under KVM with " + kernel
	}
	return false, "a kernel did not boot under KVM within 20s"
}

func probeKernel(cacheDir string) string {
	var found []string
	for _, pattern := range []string{"/boot/vmlinuz*", filepath.Join(cacheDir, "debootstrap", "*", "boot", "vmlinuz*")} {
		m, _ := filepath.Glob(pattern)
		found = append(found, m...)
	}
	for _, k := range found {
		if fi, err := os.Stat(k); err == nil && fi.Mode().IsRegular() {
			return k
		}
	}
	return ""
}
