// Package hygiene owns the clone-cleanliness checks of a built image, read
// offline from its disk (runner/diskfs): SSH host keys baked in, a non-empty
// machine-id, shell histories, passwords that a build secret still opens,
// package caches and files left under /tmp. Findings are warnings, or errors
// when the image's env.yaml says `hygiene: strict`.
package hygiene

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"strings"

	"github.com/imagebot/imagebot/runner/diskfs"
)

// Reader is what hygiene needs from an offline filesystem (diskfs.FS).
type Reader interface {
	ReadFile(ctx context.Context, path string) ([]byte, error)
	ReadDir(ctx context.Context, path string) ([]diskfs.Entry, error)
}

// Finding is one hygiene problem.
type Finding struct {
	Check  string `json:"check"`  // ssh-host-keys, machine-id, shell-history, password, package-cache, tmp
	Detail string `json:"detail"` // what was found, never a secret
}

// Options tune the checks.
type Options struct {
	// Secrets are the build's secret values (the template's SSH password
	// among them): a local account whose password one of them opens is a finding.
	Secrets []string
	// Perl runs crypt(3) to test a password against a shadow hash (libc's
	// crypt knows yescrypt, which Go's libraries do not); "" means "perl".
	Perl string
}

// Check runs every check and returns the findings, in a fixed order.
func Check(ctx context.Context, fs Reader, opts Options) ([]Finding, error) {
	var out []Finding
	for _, c := range []func(context.Context, Reader, Options) ([]Finding, error){
		hostKeys, machineID, histories, passwords, packageCaches, tmpFiles,
	} {
		f, err := c(ctx, fs, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, f...)
	}
	return out, nil
}

// list returns the entries of dir, none when it does not exist.
func list(ctx context.Context, fs Reader, dir string) ([]diskfs.Entry, error) {
	es, err := fs.ReadDir(ctx, dir)
	if errors.Is(err, diskfs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hygiene: list %s: %w", dir, err)
	}
	return es, nil
}

func hostKeys(ctx context.Context, fs Reader, _ Options) ([]Finding, error) {
	es, err := list(ctx, fs, "/etc/ssh")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range es {
		if strings.HasPrefix(e.Name, "ssh_host_") && strings.HasSuffix(e.Name, "_key") {
			keys = append(keys, e.Name)
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return []Finding{{Check: "ssh-host-keys", Detail: "SSH host keys baked into the image (every clone shares them): " + strings.Join(keys, ", ")}}, nil
}

func machineID(ctx context.Context, fs Reader, _ Options) ([]Finding, error) {
	var out []Finding
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		data, err := fs.ReadFile(ctx, p)
		if errors.Is(err, diskfs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("hygiene: read %s: %w", p, err)
		}
		if id := strings.TrimSpace(string(data)); id != "" && id != "uninitialized" {
			out = append(out, Finding{Check: "machine-id", Detail: p + " is set (every clone gets the same machine id)"})
		}
	}
	return out, nil
}

var historyFiles = []string{".bash_history", ".zsh_history", ".ash_history", ".python_history", ".lesshst", ".mysql_history", ".psql_history", ".viminfo"}

// homes lists root's home and every directory under /home.
func homes(ctx context.Context, fs Reader) ([]string, error) {
	dirs := []string{"/root"}
	es, err := list(ctx, fs, "/home")
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		if e.IsDir() {
			dirs = append(dirs, path.Join("/home", e.Name))
		}
	}
	return dirs, nil
}

func histories(ctx context.Context, fs Reader, _ Options) ([]Finding, error) {
	dirs, err := homes(ctx, fs)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, d := range dirs {
		es, err := list(ctx, fs, d)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			for _, h := range historyFiles {
				if e.Name == h && e.Size > 0 {
					out = append(out, Finding{Check: "shell-history", Detail: fmt.Sprintf("%s (%d bytes)", path.Join(d, e.Name), e.Size)})
				}
			}
		}
	}
	return out, nil
}

func packageCaches(ctx context.Context, fs Reader, _ Options) ([]Finding, error) {
	var out []Finding
	for _, c := range []struct{ dir, suffix string }{
		{"/var/cache/apt/archives", ".deb"},
		{"/var/lib/apt/lists", "_Packages"},
		{"/var/cache/dnf", ""},
		{"/var/cache/yum", ""},
	} {
		es, err := list(ctx, fs, c.dir)
		if err != nil {
			return nil, err
		}
		n, size := 0, int64(0)
		for _, e := range es {
			if (c.suffix == "" && e.Name != "lock" && e.Name != "partial") || (c.suffix != "" && strings.HasSuffix(e.Name, c.suffix)) {
				n++
				size += e.Size
			}
		}
		if n > 0 {
			out = append(out, Finding{Check: "package-cache", Detail: fmt.Sprintf("%s holds %d entries (%d bytes)", c.dir, n, size)})
		}
	}
	return out, nil
}

// tmpSocketDirs are the directories systemd-tmpfiles makes in /tmp at
// every boot (X11 and ICE socket directories): not leftovers.
var tmpSocketDirs = map[string]bool{".X11-unix": true, ".ICE-unix": true, ".XIM-unix": true, ".font-unix": true, ".Test-unix": true}

func tmpFiles(ctx context.Context, fs Reader, _ Options) ([]Finding, error) {
	var out []Finding
	for _, d := range []string{"/tmp", "/var/tmp"} {
		es, err := list(ctx, fs, d)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range es {
			if e.Name != "lost+found" && !tmpSocketDirs[e.Name] {
				names = append(names, e.Name)
			}
		}
		if len(names) > 0 {
			if len(names) > 5 {
				names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
			}
			out = append(out, Finding{Check: "tmp", Detail: d + " is not empty: " + strings.Join(names, ", ")})
		}
	}
	return out, nil
}

// passwords reports accounts whose shadow hash one of the build's secrets
// opens (the template's SSH password left valid for root, typically). The
// secret itself is never reported.
func passwords(ctx context.Context, fs Reader, opts Options) ([]Finding, error) {
	if len(opts.Secrets) == 0 {
		return nil, nil
	}
	shadow, err := fs.ReadFile(ctx, "/etc/shadow")
	if errors.Is(err, diskfs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hygiene: read /etc/shadow: %w", err)
	}
	var out []Finding
	for _, line := range strings.Split(string(shadow), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) < 2 || !strings.HasPrefix(fields[1], "$") {
			continue // locked (!, *), empty or malformed
		}
		for _, s := range opts.Secrets {
			ok, err := cryptMatches(ctx, opts.Perl, s, fields[1])
			if err != nil {
				return nil, fmt.Errorf("hygiene: test %s's password: %w", fields[0], err)
			}
			if ok {
				out = append(out, Finding{Check: "password", Detail: fmt.Sprintf("account %s still accepts a build secret as its password (the template's SSH password?)", fields[0])})
				break
			}
		}
	}
	return out, nil
}

// cryptMatches runs perl's crypt (libc crypt(3)) with the password and the
// hash on standard input, so neither appears in a process list.
func cryptMatches(ctx context.Context, perl, password, hash string) (bool, error) {
	if perl == "" {
		perl = "perl"
	}
	if strings.ContainsAny(password, "\n") || strings.ContainsAny(hash, "\n") {
		return false, nil
	}
	cmd := exec.CommandContext(ctx, perl, "-e", `chomp(my $p = <STDIN>); chomp(my $h = <STDIN>); print crypt($p, $h) eq $h ? "yes" : "no"`)
	cmd.Stdin = strings.NewReader(password + "\n" + hash + "\n")
	out, err := cmd.Output()
	if err != nil {
		return false, fmt.Errorf("perl crypt: %w", err)
	}
	return bytes.Equal(out, []byte("yes")), nil
}
