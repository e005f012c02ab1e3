package githubtest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestServerFailsTheTestOnUnexpectedRequests(t *testing.T) {
	const sha = "/statuses/4c8d2a6f0b1e3d5c7a9b8e6f4d2c0a1b3e5f7d9c"
	tests := []struct {
		name, method, path, auth, version, body, want string
	}{
		{"token scheme", "GET", "/repos/infra/images/pulls/7", "token tok", "2022-11-28", "", "bearer token"},
		{"no API version", "GET", "/repos/infra/images/collaborators/a/permission", "Bearer tok", "", "", "X-GitHub-Api-Version"},
		{"unknown route", "DELETE", "/repos/infra/images/issues/comments/1", "Bearer tok", "2022-11-28", "", "unexpected request"},
		{"unknown repository", "POST", "/repos/other/images/issues/7/comments", "Bearer tok", "2022-11-28", `{"body":"x"}`, "unknown repository"},
		{"extra body field", "POST", "/repos/infra/images/issues/7/comments", "Bearer tok", "2022-11-28", `{"body":"x","user":1}`, "unknown field"},
		{"comment too long", "POST", "/repos/infra/images/issues/7/comments", "Bearer tok", "2022-11-28", `{"body":"` + strings.Repeat("x", 65537) + `"}`, "comment body"},
		{"GitLab state", "POST", "/repos/infra/images" + sha, "Bearer tok", "2022-11-28", `{"state":"running","context":"c"}`, "not a GitHub state"},
		{"no context", "POST", "/repos/infra/images" + sha, "Bearer tok", "2022-11-28", `{"state":"pending"}`, "no context"},
		{"long description", "POST", "/repos/infra/images" + sha, "Bearer tok", "2022-11-28", `{"state":"pending","context":"c","description":"` + strings.Repeat("d", 141) + `"}`, "max 140"},
		{"edit of a missing comment", "PATCH", "/repos/infra/images/issues/comments/5", "Bearer tok", "2022-11-28", `{"body":"x"}`, "edit of comment 5"},
		{"PR the test did not set", "GET", "/repos/infra/images/pulls/9", "Bearer tok", "2022-11-28", "", "did not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec, "tok")
			req, _ := http.NewRequest(tt.method, strings.TrimSuffix(s.URL, "/")+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", tt.auth)
			if tt.version != "" {
				req.Header.Set("X-GitHub-Api-Version", tt.version)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/vnd.github.v3+json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if len(rec.errs) < 1 || !strings.Contains(strings.Join(rec.errs, "\n"), tt.want) {
				t.Errorf("test failures %q, want one containing %q", rec.errs, tt.want)
			}
		})
	}
}
