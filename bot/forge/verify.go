package forge

import "net/http"

// HeaderVerifier is implemented by a forge whose webhook scheme can refuse a
// delivery from its headers alone. The bot calls VerifyHeaders before it
// reads a byte of the body, so a wrong token costs no memory: GitLab's
// X-Gitlab-Token is checked whole; GitHub's HMAC needs the body, so only a
// missing or malformed X-Hub-Signature-256 is refused here. It returns
// ErrUnauthorized, or whether the headers alone authenticated the sender
// (GitLab: yes; GitHub: not until the body's HMAC is checked).
type HeaderVerifier interface {
	VerifyHeaders(r *http.Request) (authenticated bool, err error)
}
