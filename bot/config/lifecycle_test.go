package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadLifecycleSections(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "hook")
	os.WriteFile(secret, []byte("whsec-0123456789\n"), 0o600)
	tokenFile := filepath.Join(dir, "tok")
	os.WriteFile(tokenFile, []byte("tok-release-bot-0123456789\n"), 0o600)
	yaml := `channel_policy:
  channels: {stable: [alice, "@rm"], "*": ["*"]}
  groups: {rm: [bob]}
revocation: {mode: rename}
notifications:
  - {name: ops, type: webhook, url: "https://hooks.test/x", secret_file: ` + secret + `}
api:
  callers:
    - {name: release-bot, token_file: ` + tokenFile + `}
    - {name: ci}
cascade: {enabled: true, group: image, repositories: [{forge: gitlab, repo: infra/images, clone_url: "https://git.test/infra/images.git"}]}
`
	p := filepath.Join(dir, "config.yaml")
	os.WriteFile(p, []byte(yaml), 0o600)
	// IMAGEBOT_CHANNEL_POLICY is the CLI's policy file, not this section.
	cfg, err := Load(p, []string{"IMAGEBOT_API_TOKEN_CI=tok-ci-from-env-0123456", "IMAGEBOT_CHANNEL_POLICY=/etc/policy.yaml", "IMAGEBOT_NOTIFICATIONS=x"})
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.ChannelPolicy.Allows("stable", "bob") || cfg.Revocation.Mode != "rename" || len(cfg.Notifications) != 1 ||
		cfg.API.Callers[0].Token != "tok-release-bot-0123456789" || cfg.API.Callers[1].Token != "tok-ci-from-env-0123456" ||
		!cfg.Cascade.Enabled || cfg.Cascade.Group != "image" || cfg.Cascade.Repositories[0].Branch != "main" || cfg.Cascade.Tick != 10*time.Minute {
		t.Fatalf("loaded %+v", cfg)
	}
	secrets := strings.Join(cfg.Secrets(), " ")
	if !strings.Contains(secrets, "tok-ci-from-env-0123456") {
		t.Error("caller tokens are not among the secrets")
	}
	for _, tc := range []struct{ yaml, want string }{
		{"channel_policy: {channels: {Stable: [a]}}\n", "config channel_policy: channels.Stable"},
		{"revocation: {mode: hide}\n", `revocation.mode "hide"`},
		{"notifications: [{name: chat, type: slack, url: 'https://hooks.slack.test/x'}]\n", "notifications[0] (chat): a Slack webhook's URL is a secret"},
		{"api: {callers: [{name: ci}]}\n", "config api.callers[0] (ci): a token of at least 16 characters is required (token_file or IMAGEBOT_API_TOKEN_CI)"},
		{"cascade: {group: child}\n", `cascade.group "child"`},
		{"cascade: {repositories: [{forge: gitea, repo: infra/images}]}\n", "cascade.repositories[0]: want forge"},
	} {
		os.WriteFile(p, []byte(tc.yaml), 0o600)
		if _, err := Load(p, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
