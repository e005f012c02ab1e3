package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaultsFileEnvAndSecretFiles(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("glpat-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte("listen: 0.0.0.0:9000\ngitlab:\n  token_file: "+tokenFile+"\nqueue:\n  build_workers: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(cfgFile, []string{"IMAGEBOT_GITLAB_WEBHOOK_SECRET=s3", "IMAGEBOT_REPORT_MIN_EDIT_INTERVAL=2s",
		"IMAGEBOT_QUEUE_CAPABILITIES=kvm, vsphere", "IMAGEBOT_DATA_DIR=/var/lib/imagebot", "OTHER=x"})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ got, want any }{
		"token from file":    {cfg.GitLab.Token, "glpat-from-file"},
		"secret from env":    {cfg.GitLab.WebhookSecret, "s3"},
		"workers from file":  {cfg.Queue.BuildWorkers, 3},
		"interval from env":  {cfg.Report.MinEditInterval, 2 * time.Second},
		"list from env":      {strings.Join(cfg.Queue.Capabilities, ","), "kvm,vsphere"},
		"database path":      {cfg.Database.Path, "/var/lib/imagebot/imagebot.db"},
		"public url derived": {cfg.PublicURL, "http://127.0.0.1:9000"},
		"artifacts":          {cfg.Store.Local.Dir, "/var/lib/imagebot/artifacts"},
		"download base":      {cfg.Store.Local.BaseURL, "http://127.0.0.1:9000/download"},
		"gitlab enabled":     {cfg.GitLab.Enabled(), true},
		"github disabled":    {cfg.GitHub.Enabled(), false},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", name, c.got, c.want)
		}
	}
}

func TestLoadRejects(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        []string
		want       string
	}{
		{"secret in the file", "gitlab:\n  token: glpat-x\n", nil, "field token not found"},
		{"unknown key", "lisen: :80\n", nil, "field lisen not found"},
		{"bad driver", "database:\n  driver: mysql\n", nil, "database.driver"},
		{"postgres without url", "database:\n  driver: postgres\n", nil, "IMAGEBOT_DATABASE_URL"},
		{"bad env number", "", []string{"IMAGEBOT_QUEUE_BUILD_WORKERS=many"}, "IMAGEBOT_QUEUE_BUILD_WORKERS"},
		{"bad duration", "", []string{"IMAGEBOT_REPORT_MIN_EDIT_INTERVAL=5"}, "duration"},
		{"missing secret file", "github:\n  webhook_secret_file: /nonexistent/x\n", nil, "webhook_secret_file"},
		{"bad permission", "trust:\n  min_permission: owner\n", nil, "trust.min_permission"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := ""
			if tc.yaml != "" {
				path = filepath.Join(t.TempDir(), "c.yaml")
				if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(path, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
