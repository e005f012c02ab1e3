package gitlab

import (
	"net/http"

	"github.com/imagebot/imagebot/bot/forge"
)

// VerifyHeaders checks X-Gitlab-Token before the body is read (the token
// alone authenticates a GitLab delivery).
func (g *GitLab) VerifyHeaders(r *http.Request) (bool, error) {
	if !g.tokenOK(r.Header.Get("X-Gitlab-Token")) {
		return false, forge.ErrUnauthorized
	}
	return true, nil
}
