package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/imagebot/imagebot/bot/config"
)

func TestGitHubAppKeysFromEnvironmentAndFile(t *testing.T) {
	key := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(key, []byte("-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load("", []string{"IMAGEBOT_GITHUB_APP_ID=12345", "IMAGEBOT_GITHUB_APP_PRIVATE_KEY_FILE=" + key})
	if err != nil {
		t.Fatal(err)
	}
	if c.GitHub.AppID != 12345 || c.GitHub.AppPrivateKey == "" || c.GitHub.Token != "" {
		t.Errorf("github app config %d, key set %v, token %q", c.GitHub.AppID, c.GitHub.AppPrivateKey != "", c.GitHub.Token)
	}
}
