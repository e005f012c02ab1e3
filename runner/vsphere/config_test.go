package vsphere

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestConfigFromEnvironmentAndPasswordFile(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("from-file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := FromEnv([]string{
		"IMAGEBOT_VSPHERE_URL=vcenter.example.com", "IMAGEBOT_VSPHERE_USERNAME=svc@vsphere.local",
		"IMAGEBOT_VSPHERE_PASSWORD_FILE=" + pwFile, "IMAGEBOT_VSPHERE_INSECURE=true",
		"IMAGEBOT_VSPHERE_DATACENTER=DC0", "IMAGEBOT_VSPHERE_CLUSTER=C0", "IMAGEBOT_VSPHERE_DATASTORE=ds",
		"IMAGEBOT_VSPHERE_NETWORK=VM Network", "IMAGEBOT_VSPHERE_LEFTOVER_MAX_AGE=36h", "IMAGEBOT_VSPHERE_CONTENT_LIBRARY=golden",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Password != "from-file-secret" || !cfg.Insecure || cfg.LeftoverMaxAge != 36*time.Hour || cfg.Network != "VM Network" || cfg.ContentLibrary != "golden" {
		t.Fatalf("cfg = %+v", cfg)
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	if u, _ := cfg.SDKURL(); u.String() != "https://vcenter.example.com/sdk" || cfg.Server() != "vcenter.example.com" {
		t.Fatalf("sdk url %v, server %q", u, cfg.Server())
	}

	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Object("vsphere", cfg).Msg("x")
	if strings.Contains(buf.String(), "from-file-secret") || !strings.Contains(buf.String(), "vcenter.example.com") {
		t.Fatalf("log line %s", buf.String())
	}
}

func TestConfigMistakesAreNamed(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		cfg  *Config
		want string
	}{
		{name: "bad bool", env: []string{"IMAGEBOT_VSPHERE_INSECURE=yes please"}, want: `IMAGEBOT_VSPHERE_INSECURE="yes please"`},
		{name: "bad duration", env: []string{"IMAGEBOT_VSPHERE_TIMEOUT=soon"}, want: "IMAGEBOT_VSPHERE_TIMEOUT"},
		{name: "missing password file", env: []string{"IMAGEBOT_VSPHERE_PASSWORD_FILE=/nonexistent/pw"}, want: "vsphere password_file"},
		{name: "credentials in url", cfg: &Config{URL: "https://root:hunter22@vc/sdk", Username: "u", Password: "p", Datacenter: "d"}, want: "carries credentials"},
		{name: "no password", cfg: &Config{URL: "vc", Username: "u", Datacenter: "d"}, want: "IMAGEBOT_VSPHERE_PASSWORD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.cfg != nil {
				err = tt.cfg.Check()
			} else {
				_, err = FromEnv(tt.env)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter22") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}
