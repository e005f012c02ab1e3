package packer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Locate finds the packer binary: the configured path first, then the
// repository's .tools/bin/packer (where deploy/install-tools.sh puts it), then PATH.
func Locate(configured, repoRoot string) (string, error) {
	if configured != "" {
		if err := executable(configured); err != nil {
			return "", fmt.Errorf("packer configured at %s: %w", configured, err)
		}
		return configured, nil
	}
	if repoRoot != "" {
		local := filepath.Join(repoRoot, ".tools", "bin", "packer")
		if executable(local) == nil {
			return local, nil
		}
	}
	if p, err := exec.LookPath("packer"); err == nil {
		return p, nil
	}
	return "", errors.New("packer not found: not configured, not in .tools/bin, not in PATH (run deploy/install-tools.sh)")
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// Version returns what `packer version` says first, e.g. "1.9.4".
func Version(ctx context.Context, path string) (string, error) {
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1") // no update check over the network
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("packer version: %w", err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.TrimPrefix(strings.TrimSpace(line), "Packer v"), nil
}
