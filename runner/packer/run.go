package packer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"time"
)

// BuildOptions says how to run one `packer build`.
type BuildOptions struct {
	Packer   string            // the packer binary
	Dir      string            // working directory: the image's directory
	Template string            // file or directory argument, relative to Dir
	Vars     map[string]string // -var name=value
	Only     []string          // -only
	// Env is added to the build's environment (PACKER_CACHE_DIR=...,
	// PKR_VAR_ of sensitive variables); the rest of it is built by Environ
	// from an allow-list, never imagebot's whole environment.
	Env  []string
	Home string // HOME of the build: a directory of its own
	Tmp  string // TMPDIR of the build: a directory of its own
	// Credential, when set, runs packer (and so every provisioner and
	// QEMU) as that unprivileged user instead of imagebot's.
	Credential *syscall.Credential
	// Confined runs packer in a network namespace of its own with only
	// loopback (see startConfined): the runner's network "none".
	Confined bool
	Grace    time.Duration // how long a cancelled packer may take to clean up; default 60s
	// Line receives every raw stdout/stderr line as printed (not yet
	// redacted) and is called from one goroutine at a time.
	Line func(raw string)
}

// Args returns packer's arguments for these options: never -on-error=ask.
func (o BuildOptions) Args() []string {
	args := []string{"build", "-machine-readable", "-color=false", "-on-error=cleanup"}
	if len(o.Only) > 0 {
		args = append(args, "-only="+strings.Join(o.Only, ","))
	}
	names := make([]string, 0, len(o.Vars))
	for n := range o.Vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		args = append(args, "-var", n+"="+o.Vars[n])
	}
	return append(args, o.Template)
}

// ErrStopped is returned by Build when the context ended the run.
var ErrStopped = errors.New("packer stopped")

// Build runs `packer build` in its own process group and waits. When ctx ends,
// packer gets SIGINT (its graceful path: it stops the machine and cleans its
// output), Grace to finish, then the whole group gets SIGKILL. The error wraps
// ErrStopped in that case, or describes packer's non-zero exit.
func Build(ctx context.Context, o BuildOptions) error {
	cmd := exec.Command(o.Packer, o.Args()...)
	cmd.Dir = o.Dir
	cmd.Env = Environ(osEnviron(), o.Home, o.Tmp, o.Env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: o.Credential}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	start := cmd.Start
	if o.Confined {
		start = func() error { return startConfined(cmd) }
	}
	if err := start(); err != nil {
		pw.Close()
		return fmt.Errorf("start packer: %w", err)
	}
	pgid := cmd.Process.Pid
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			if o.Line != nil {
				o.Line(sc.Text())
			}
		}
		io.Copy(io.Discard, pr) // an over-long line must not block packer
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait(); pw.Close() }()

	var err error
	stopped := false
	select {
	case err = <-waited:
	case <-ctx.Done():
		stopped = true
		err = stop(pgid, waited, o.Grace)
	}
	<-scanned
	// Whatever happened, nothing of the group may outlive the build (a qemu
	// that ignored packer, a provisioner's child).
	KillGroup(pgid)
	if stopped {
		return fmt.Errorf("%w: %v", ErrStopped, context.Cause(ctx))
	}
	if err != nil {
		return fmt.Errorf("packer build: %w", err)
	}
	return nil
}

func stop(pgid int, waited <-chan error, grace time.Duration) error {
	if grace <= 0 {
		grace = 60 * time.Second
	}
	_ = syscall.Kill(-pgid, syscall.SIGINT)
	select {
	case err := <-waited:
		return err
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	return <-waited
}

// KillGroup sends SIGKILL to every process left in the group and waits
// (up to 10s) until none remains.
func KillGroup(pgid int) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := syscall.Kill(-pgid, syscall.SIGKILL); errors.Is(err, syscall.ESRCH) {
			return
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
