package bot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
)

// maxWebhookBody bounds a delivery (GitLab caps payloads at 25 MB).
const maxWebhookBody = 25 << 20

// webhook answers POST /webhooks/<forge>: verify, store the delivery and its
// event job in one commit, answer 202. The work happens in eventWorker.
func (b *Bot) webhook(forgeName string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() { b.metrics.webhookTime.Observe(time.Since(start).Seconds()) }()
		f, ok := b.deps.Forges[forgeName]
		if !ok {
			b.metrics.webhooks.WithLabelValues(forgeName, "", "unauthorized").Inc()
			http.Error(w, forgeName+" is not configured on this imagebot", http.StatusUnauthorized)
			return
		}
		release, code, admitted := b.bodies.admit(w, r, f) // headers before body (bot/intake.go)
		if !admitted {
			b.metrics.webhooks.WithLabelValues(forgeName, "", intakeResult(code)).Inc()
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		release()
		if err != nil {
			b.metrics.webhooks.WithLabelValues(forgeName, "", "bad_request").Inc()
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		ev, err := f.ParseWebhook(r, body)
		switch {
		case errors.Is(err, forge.ErrUnauthorized):
			b.metrics.webhooks.WithLabelValues(forgeName, "", "unauthorized").Inc()
			b.log.Warn().Str("forge", forgeName).Str("remote", r.RemoteAddr).Msg("webhook refused: signature or token did not verify")
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		case err != nil:
			b.metrics.webhooks.WithLabelValues(forgeName, "", "bad_request").Inc()
			b.log.Info().Err(err).Str("forge", forgeName).Msg("webhook payload rejected")
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		event := string(ev.Type)
		if ev.Type == forge.Ignored || ev.Type == "" {
			b.metrics.webhooks.WithLabelValues(forgeName, "ignored", "ignored").Inc()
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "ignored\n")
			return
		}
		if ev.DeliveryID == "" {
			sum := sha256.Sum256(body) // a forge that sends no id: the body identifies it
			ev.DeliveryID = "sha256:" + hex.EncodeToString(sum[:])
		}
		dup, err := b.q.Accept(r.Context(), queue.Delivery{Forge: forgeName, ID: ev.DeliveryID, Event: event},
			EventArgs{Event: ev}, jobs.EventOpts())
		if err != nil {
			b.metrics.webhooks.WithLabelValues(forgeName, event, "error").Inc()
			b.log.Error().Err(err).Str("forge", forgeName).Str("delivery", ev.DeliveryID).Msg("store webhook")
			http.Error(w, "could not store the delivery; retry", http.StatusServiceUnavailable)
			return
		}
		if dup {
			b.metrics.webhooks.WithLabelValues(forgeName, event, "duplicate").Inc()
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "duplicate delivery\n")
			return
		}
		b.metrics.webhooks.WithLabelValues(forgeName, event, "accepted").Inc()
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, "accepted\n")
	}
}
