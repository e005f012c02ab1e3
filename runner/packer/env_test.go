package packer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBuildEnvironmentIsAllowListed runs a fake packer that prints its
// environment: none of imagebot's secrets may be in it, only the allow-list,
// the build's own HOME and TMPDIR and what the caller adds.
func TestBuildEnvironmentIsAllowListed(t *testing.T) {
	bot := map[string]string{
		"IMAGEBOT_GITLAB_TOKEN":          "glpat-forge-token-1234",
		"IMAGEBOT_GITLAB_WEBHOOK_SECRET": "hook-secret-5678",
		"IMAGEBOT_S3_ACCESS_KEY":         "AKIAEXAMPLEKEY",
		"IMAGEBOT_S3_SECRET_KEY":         "s3-secret-key-9012",
		"IMAGEBOT_DATABASE_URL":          "postgres://imagebot:db-pass-3456@127.0.0.1/imagebot",
		"PKR_VAR_api_token":              "from-the-bot-env-7890",
		"AWS_SECRET_ACCESS_KEY":          "aws-secret-1111",
		"HOME":                           "/root-of-the-bot",
		"TMPDIR":                         "/tmp",
		"https_proxy":                    "http://127.0.0.1:3128",
	}
	for k, v := range bot {
		t.Setenv(k, v)
	}
	home, tmp := t.TempDir(), t.TempDir()
	script := filepath.Join(t.TempDir(), "packer")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nenv\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]string{}
	err := Build(context.Background(), BuildOptions{
		Packer: script, Template: ".", Home: home, Tmp: tmp,
		Env: []string{"PACKER_CACHE_DIR=/cache/packer", "PKR_VAR_declared=given"},
		Line: func(l string) {
			mu.Lock()
			defer mu.Unlock()
			if k, v, ok := strings.Cut(l, "="); ok {
				got[k] = v
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string // want "" means absent
	}{
		{"IMAGEBOT_GITLAB_TOKEN", ""},
		{"IMAGEBOT_GITLAB_WEBHOOK_SECRET", ""},
		{"IMAGEBOT_S3_ACCESS_KEY", ""},
		{"IMAGEBOT_S3_SECRET_KEY", ""},
		{"IMAGEBOT_DATABASE_URL", ""},
		{"PKR_VAR_api_token", ""},
		{"AWS_SECRET_ACCESS_KEY", ""},
		{"HOME", home},
		{"TMPDIR", tmp},
		{"ANSIBLE_SSH_CONTROL_PATH_DIR", tmp + "/ansible-cp"},
		{"https_proxy", "http://127.0.0.1:3128"},
		{"PATH", os.Getenv("PATH")},
		{"PACKER_CACHE_DIR", "/cache/packer"},
		{"PKR_VAR_declared", "given"},
		{"CHECKPOINT_DISABLE", "1"},
	} {
		if v := got[tc.name]; v != tc.want {
			t.Errorf("%s in the build's environment = %q, want %q", tc.name, v, tc.want)
		}
	}
	for k, v := range got {
		for name, secret := range bot {
			if strings.HasPrefix(name, "IMAGEBOT_") && strings.Contains(v, secret) {
				t.Errorf("%s carries a value of imagebot's environment: %q", k, v)
			}
		}
	}
}
