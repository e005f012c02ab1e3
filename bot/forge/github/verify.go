package github

import (
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/imagebot/imagebot/bot/forge"
)

// VerifyHeaders refuses a delivery whose X-Hub-Signature-256 is missing or
// not "sha256=" and 64 hex digits, before the body is read. The HMAC itself
// needs the body: ParseWebhook checks it.
func (g *GitHub) VerifyHeaders(r *http.Request) (bool, error) {
	if g.cfg.WebhookSecret == "" {
		return false, forge.ErrUnauthorized
	}
	sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256=")
	if !ok || len(sig) != 64 {
		return false, forge.ErrUnauthorized
	}
	if _, err := hex.DecodeString(sig); err != nil {
		return false, forge.ErrUnauthorized
	}
	return false, nil
}
