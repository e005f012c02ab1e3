package bot

import (
	"errors"
	"net/http"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
)

// Intake limits (issue 11 item 2). GitLab and GitHub both cap a delivery at
// 25 MB, so nothing larger is a real webhook.
const (
	// maxBodyReads caps webhook bodies being read at once; more answer 503
	// (a forge retries). With the token checked first only GitHub
	// deliveries with a well-formed but possibly wrong signature get here.
	maxBodyReads = 8
	// webhookReadTimeout bounds reading one delivery's body.
	webhookReadTimeout = 20 * time.Second
)

// bodyGate is the semaphore of in-flight webhook body reads.
type bodyGate chan struct{}

func newBodyGate(n int) bodyGate { return make(bodyGate, n) }

// admit decides whether a delivery's body may be read at all, before a byte
// of it is: the forge checks the headers (GitLab's token; GitHub's signature
// header shape), a declared length over the limit is refused, and the body
// read takes a slot of the gate and a read deadline. ok false means the
// answer has been written; otherwise call release when the body is read.
func (g bodyGate) admit(w http.ResponseWriter, r *http.Request, f forge.Forge) (release func(), status int, ok bool) {
	if v, has := f.(forge.HeaderVerifier); has {
		if err := v.VerifyHeaders(r); err != nil {
			code := http.StatusUnauthorized
			if !errors.Is(err, forge.ErrUnauthorized) {
				code = http.StatusBadRequest
			}
			w.Header().Set("Connection", "close") // don't drain the body
			http.Error(w, err.Error(), code)
			return nil, code, false
		}
	}
	if r.ContentLength > maxWebhookBody {
		w.Header().Set("Connection", "close")
		http.Error(w, "webhook body over 25 MB", http.StatusRequestEntityTooLarge)
		return nil, http.StatusRequestEntityTooLarge, false
	}
	select {
	case g <- struct{}{}:
	default:
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "5")
		http.Error(w, "too many webhook bodies in flight; retry", http.StatusServiceUnavailable)
		return nil, http.StatusServiceUnavailable, false
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(webhookReadTimeout))
	return func() { <-g }, 0, true
}

// intakeResult names a refusal for the webhooks metric.
func intakeResult(code int) string {
	switch code {
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusServiceUnavailable:
		return "busy"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	}
	return "bad_request"
}
