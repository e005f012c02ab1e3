package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The vsphere: section: keys from the file, the password only from
// IMAGEBOT_VSPHERE_PASSWORD or password_file, handed to the runner too.
func TestLoadVSphereSectionPasswordFromEnvOrFileAndRunnerGetsIt(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "vc-password")
	if err := os.WriteFile(pwFile, []byte("from-the-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	section := "vsphere:\n  url: vcenter.example.com\n  username: imagebot@vsphere.local\n  datacenter: DC1\n  leftover_max_age: 12h\n"
	write := func(body string) string {
		p := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, err := Load(write(section), []string{"IMAGEBOT_VSPHERE_PASSWORD=from-the-env", "IMAGEBOT_VSPHERE_INSECURE=true"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.VSphere.Password != "from-the-env" || !cfg.VSphere.Insecure || cfg.VSphere.LeftoverMaxAge != 12*time.Hour {
		t.Errorf("vsphere from file and env: %+v", cfg.VSphere)
	}
	if cfg.Runner.VSphere == nil || cfg.Runner.VSphere.Password != "from-the-env" || cfg.Runner.VSphere.Datacenter != "DC1" {
		t.Errorf("the runner's vSphere configuration: %+v", cfg.Runner.VSphere)
	}
	cfg, err = Load(write(section+"  password_file: "+pwFile+"\n"), nil)
	if err != nil || cfg.VSphere.Password != "from-the-file" {
		t.Errorf("password_file: %q, %v", cfg.VSphere.Password, err)
	}
	if cfg, err := Load("", nil); err != nil || cfg.VSphereEnabled() || cfg.Runner.VSphere != nil {
		t.Errorf("no vsphere section: enabled %v, runner %v, %v", cfg.VSphereEnabled(), cfg.Runner.VSphere, err)
	}

	for _, tc := range []struct{ name, yaml, want string }{
		{"password in the file", section + "  password: hunter22\n", "field password not found"},
		{"no password", section, "IMAGEBOT_VSPHERE_PASSWORD"},
		{"sweep before builds end", section + "runner:\n  default_timeout: 24h\n", "leftover_max_age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := []string{"IMAGEBOT_VSPHERE_PASSWORD=x-secret"}
			if tc.name == "no password" {
				env = nil
			}
			_, err := Load(write(tc.yaml), env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}
