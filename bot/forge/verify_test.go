package forge_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
)

// Issue 11 item 2: both adapters refuse from the headers alone.
func TestVerifyHeaders(t *testing.T) {
	gl, err := gitlab.New(gitlab.Config{BaseURL: "http://127.0.0.1:9", Token: "t", WebhookSecret: "right"})
	if err != nil {
		t.Fatal(err)
	}
	gh, err := github.New(github.Config{Token: "t", WebhookSecret: "right"})
	if err != nil {
		t.Fatal(err)
	}
	sig := "sha256=" + strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name   string
		f      forge.Forge
		header string
		value  string
		ok     bool
	}{
		{"gitlab right token", gl, "X-Gitlab-Token", "right", true},
		{"gitlab wrong token", gl, "X-Gitlab-Token", "wrong", false},
		{"gitlab no token", gl, "", "", false},
		{"github well-formed", gh, "X-Hub-Signature-256", sig, true},
		{"github missing", gh, "", "", false},
		{"github sha1", gh, "X-Hub-Signature-256", "sha1=abcd", false},
		{"github short", gh, "X-Hub-Signature-256", "sha256=abcd", false},
		{"github not hex", gh, "X-Hub-Signature-256", "sha256=" + strings.Repeat("zz", 32), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/webhooks/x", nil)
			if tc.header != "" {
				r.Header.Set(tc.header, tc.value)
			}
			v, ok := tc.f.(forge.HeaderVerifier)
			if !ok {
				t.Fatalf("%s does not verify headers before the body", tc.f.Name())
			}
			authenticated, err := v.VerifyHeaders(r)
			if err == nil && authenticated != (tc.f.Name() == "gitlab") {
				t.Errorf("authenticated = %v for %s", authenticated, tc.f.Name())
			}
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, forge.ErrUnauthorized) {
				t.Fatalf("VerifyHeaders = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
