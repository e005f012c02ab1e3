package intake

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
)

// Intake limits (issue 11 item 2). GitLab and GitHub both cap a delivery at
// 25 MB, so nothing larger is a real webhook.
const (
	// maxBodyReads caps unauthenticated webhook bodies being read at once
	// (GitHub's, whose HMAC needs the body; GitLab's token is checked from
	// the headers and takes no slot); one waiting longer than gateWait is
	// answered 503 (a forge retries).
	maxBodyReads = 8
	gateWait     = 2 * time.Second
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
	authenticated := false
	if v, has := f.(forge.HeaderVerifier); has {
		ok, err := v.VerifyHeaders(r)
		if err != nil {
			code := http.StatusUnauthorized
			if !errors.Is(err, forge.ErrUnauthorized) {
				code = http.StatusBadRequest
			}
			w.Header().Set("Connection", "close") // don't drain the body
			http.Error(w, err.Error(), code)
			return nil, code, false
		}
		authenticated = ok
	}
	if r.ContentLength > maxWebhookBody {
		w.Header().Set("Connection", "close")
		http.Error(w, "webhook body over 25 MB", http.StatusRequestEntityTooLarge)
		return nil, http.StatusRequestEntityTooLarge, false
	}
	release = func() {}
	if !authenticated { // only bodies from senders not yet known take a slot
		if !g.acquire(r.Context()) {
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "5")
			http.Error(w, "too many unauthenticated webhook bodies in flight; retry", http.StatusServiceUnavailable)
			return nil, http.StatusServiceUnavailable, false
		}
		release = func() { <-g }
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(webhookReadTimeout))
	return release, 0, true
}

// acquire waits up to gateWait for a slot: a burst of honest deliveries
// queues briefly instead of being refused.
func (g bodyGate) acquire(ctx context.Context) bool {
	select {
	case g <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case g <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
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
