package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The UI keys: sign-in settings with the client secret from the
// environment (never the file), the UI's public URL (default: the
// ui_listen address when set), and the checkout retention bound.
func TestUIOAuthPublicURLAndCheckoutRetention(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config.yaml")
	body := "listen: 0.0.0.0:9000\nui_listen: 127.0.0.1:9001\nui:\n  oauth:\n    forge: gitlab\n    web_url: https://gitlab.example.com\n    client_id: app-1\n"
	if err := os.WriteFile(cfgFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(cfgFile, []string{"IMAGEBOT_GITLAB_WEBHOOK_SECRET=s3", "IMAGEBOT_UI_OAUTH_CLIENT_SECRET=gloas-Secret-77", "IMAGEBOT_DATA_DIR=" + dir})
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.UI.OAuth; !o.Enabled() || o.ClientID != "app-1" || o.ClientSecret != "gloas-Secret-77" || o.WebURL != "https://gitlab.example.com" {
		t.Errorf("ui.oauth = %+v", o)
	}
	if cfg.UI.PublicURL != "http://127.0.0.1:9001" {
		t.Errorf("ui public URL %q, want the ui_listen address", cfg.UI.PublicURL)
	}
	if !slices.Contains(cfg.Secrets(), "gloas-Secret-77") {
		t.Error("the OAuth client secret is not among the secrets redacted")
	}
	if cfg.Builds.CheckoutRetention != 72*time.Hour {
		t.Errorf("checkout retention %s, want 72h", cfg.Builds.CheckoutRetention)
	}
	if _, err := Load(cfgFile, []string{"IMAGEBOT_GITLAB_WEBHOOK_SECRET=s3", "IMAGEBOT_DATA_DIR=" + dir, "IMAGEBOT_BUILDS_CHECKOUT_RETENTION=2h"}); err == nil ||
		!strings.Contains(err.Error(), "builds.checkout_retention") {
		t.Errorf("a retention below max_timeout: %v", err)
	}
}
