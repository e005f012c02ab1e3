package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireTool finds a program, failing instead of skipping under
// IMAGEBOT_REQUIRE_TOOLS=1 (as deploy/test.sh sets).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("IMAGEBOT_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s not found (deploy/install-tools.sh installs it): %v", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return p
}

var units = []string{"imagebot-serve.service", "imagebot-runner.service"}

// TestSystemdUnitsVerify runs systemd-analyze verify on copies of the units
// whose ExecStart points at a stand-in binary (verify checks that it is
// executable). Any warning fails the test too: verify exits 0 on unknown keys.
func TestSystemdUnitsVerify(t *testing.T) {
	sa := requireTool(t, "systemd-analyze")
	dir := t.TempDir()
	bin := filepath.Join(dir, "imagebot")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, u := range units {
		data, err := os.ReadFile(filepath.Join("systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("/usr/local/bin/imagebot"), []byte(bin))
		p := filepath.Join(dir, u)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command(sa, append([]string{"verify", "--man=no"}, paths...)...)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestSystemdUnitsAreHardened(t *testing.T) {
	want := map[string]string{
		"DynamicUser":           "yes",
		"NoNewPrivileges":       "yes",
		"ProtectSystem":         "strict",
		"ProtectHome":           "yes",
		"PrivateTmp":            "yes",
		"RestrictSUIDSGID":      "yes",
		"CapabilityBoundingSet": "",
	}
	for _, u := range units {
		t.Run(u, func(t *testing.T) {
			keys := unitKeys(t, filepath.Join("systemd", u))
			for k, v := range want {
				got, ok := keys[k]
				if !ok || got[0] != v {
					t.Errorf("%s=%q, want %q", k, got, v)
				}
			}
			for _, k := range []string{"User", "StateDirectory", "LoadCredential", "SystemCallFilter", "ExecStart"} {
				if len(keys[k]) == 0 {
					t.Errorf("%s missing", k)
				}
			}
			for _, e := range keys["Environment"] {
				name, val, _ := strings.Cut(e, "=")
				if up := strings.ToUpper(name); (strings.Contains(up, "TOKEN") || strings.Contains(up, "SECRET") || strings.Contains(up, "URL")) &&
					!strings.HasSuffix(up, "_FILE") {
					t.Errorf("Environment=%s: secrets come through LoadCredential files, not values", name)
				} else if strings.HasSuffix(up, "_FILE") && !strings.HasPrefix(val, "%d/") {
					t.Errorf("Environment=%s=%s: want a file under %%d (the credentials directory)", name, val)
				}
			}
		})
	}
}

// unitKeys reads a unit file's Key=Value lines (all sections), keeping
// every value of repeated keys.
func unitKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '[' {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		keys[k] = append(keys[k], v)
	}
	return keys
}
