package gitlabtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// recorder catches the server's test failures so this test can assert them.
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
	tests := []struct {
		name, method, path, token, body, want string
	}{
		{"wrong token", "GET", "/api/v4/users?username=a", "nope", "", "with token"},
		{"unknown route", "DELETE", "/api/v4/projects/42/merge_requests/7/notes/1", "tok", "", "unexpected request"},
		{"unknown project", "GET", "/api/v4/projects/5/merge_requests/7", "tok", "", "unknown project"},
		{"unknown body field", "POST", "/api/v4/projects/42/merge_requests/7/notes", "tok", `{"body":"x","internal":true}`, "unknown field"},
		{"empty note", "POST", "/api/v4/projects/42/merge_requests/7/notes", "tok", `{"body":" "}`, "note body"},
		{"status without name", "POST", "/api/v4/projects/42/statuses/4c8d2a6f", "tok", `{"state":"running"}`, "no name"},
		{"status in GitHub's words", "POST", "/api/v4/projects/42/statuses/4c8d2a6f", "tok", `{"state":"failure","name":"x"}`, "not a GitLab state"},
		{"relative target_url", "POST", "/api/v4/projects/42/statuses/4c8d2a6f", "tok", `{"state":"running","name":"x","target_url":"/b/1"}`, "absolute URL"},
		{"edit of a missing note", "PUT", "/api/v4/projects/42/merge_requests/7/notes/77", "tok", `{"body":"x"}`, "edit of note 77"},
		{"MR the test did not set", "GET", "/api/v4/projects/infra%2Fimages/merge_requests/8", "tok", "", "did not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			s := New(rec, "tok")
			req, _ := http.NewRequest(tt.method, s.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Private-Token", tt.token)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("status %d, want an error status", resp.StatusCode)
			}
			if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], tt.want) {
				t.Errorf("test failures %q, want one containing %q", rec.errs, tt.want)
			}
		})
	}
}

func TestPayloadEdits(t *testing.T) {
	b := NoteOnMR(t, "carol", "/build debian12")
	var p struct {
		User             struct{ Username string }
		ObjectAttributes struct{ Note string } `json:"object_attributes"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	if p.User.Username != "carol" || p.ObjectAttributes.Note != "/build debian12" {
		t.Errorf("edits not applied: %+v", p)
	}
}
