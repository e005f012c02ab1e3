// Package intake owns the first step of a webhook: admit its headers, read
// a bounded body, verify it through the forge adapter, and store the
// delivery with its event job in one commit (bot/queue Accept), answering
// 202. Nothing is decided here about what the event means: that is
// bot/events' work, in the event job.
package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/queue"
)

// maxWebhookBody bounds a delivery (GitLab caps payloads at 25 MB).
const maxWebhookBody = 25 << 20

// Acceptor stores a delivery and its job in one commit; dup is true when
// the delivery was stored before (bot/queue.Queue).
type Acceptor interface {
	Accept(ctx context.Context, d queue.Delivery, args river.JobArgs, opts *river.InsertOpts) (dup bool, err error)
}

// Intake answers the webhook routes.
type Intake struct {
	forges map[string]forge.Forge
	q      Acceptor
	log    zerolog.Logger
	count  *prometheus.CounterVec // by forge, event, result
	took   prometheus.Observer
	bodies bodyGate
}

// New returns the intake of forges' webhooks; count is labelled by forge,
// event and result, took observes each answer's seconds.
func New(forges map[string]forge.Forge, q Acceptor, log zerolog.Logger, count *prometheus.CounterVec, took prometheus.Observer) *Intake {
	return &Intake{forges: forges, q: q, log: log, count: count, took: took, bodies: newBodyGate(maxBodyReads)}
}

// Handler answers POST /webhooks/{forge}, the forge named by its adapter's
// Name(): verify, store the delivery and its event job in one commit,
// answer 202.
func (in *Intake) Handler() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() { in.took.Observe(time.Since(start).Seconds()) }()
		forgeName := r.PathValue("forge")
		f, ok := in.forges[forgeName]
		if !ok {
			// The name is the sender's: it labels no metric.
			in.count.WithLabelValues("unknown", "", "unauthorized").Inc()
			http.Error(w, "no forge of that name is configured on this imagebot", http.StatusUnauthorized)
			return
		}
		release, code, admitted := in.bodies.admit(w, r, f) // headers before body (gate.go)
		if !admitted {
			in.count.WithLabelValues(forgeName, "", intakeResult(code)).Inc()
			return
		}
		body, free, err := readBody(w, r)
		release()
		defer free()
		if err != nil {
			in.count.WithLabelValues(forgeName, "", "bad_request").Inc()
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		ev, err := f.ParseWebhook(r, body)
		switch {
		case errors.Is(err, forge.ErrUnauthorized):
			in.count.WithLabelValues(forgeName, "", "unauthorized").Inc()
			in.log.Warn().Str("forge", forgeName).Str("remote", r.RemoteAddr).Msg("webhook refused: signature or token did not verify")
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		case err != nil:
			in.count.WithLabelValues(forgeName, "", "bad_request").Inc()
			in.log.Info().Err(err).Str("forge", forgeName).Msg("webhook payload rejected")
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		in.store(w, r, forgeName, ev, body)
	}
}

// store records an accepted event and its job, and answers.
func (in *Intake) store(w http.ResponseWriter, r *http.Request, forgeName string, ev forge.Event, body []byte) {
	event := string(ev.Type)
	if ev.Type == forge.Ignored || ev.Type == "" {
		in.count.WithLabelValues(forgeName, "ignored", "ignored").Inc()
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "ignored\n")
		return
	}
	if ev.DeliveryID == "" {
		sum := sha256.Sum256(body) // a forge that sends no id: the body identifies it
		ev.DeliveryID = "sha256:" + hex.EncodeToString(sum[:])
	}
	dup, err := in.q.Accept(r.Context(), queue.Delivery{Forge: forgeName, ID: ev.DeliveryID, Event: event},
		jobs.Event{Event: ev}, jobs.EventOpts())
	if err != nil {
		in.count.WithLabelValues(forgeName, event, "error").Inc()
		in.log.Error().Err(err).Str("forge", forgeName).Str("delivery", ev.DeliveryID).Msg("store webhook")
		http.Error(w, "could not store the delivery; retry", http.StatusServiceUnavailable)
		return
	}
	if dup {
		in.count.WithLabelValues(forgeName, event, "duplicate").Inc()
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "duplicate delivery\n")
		return
	}
	in.count.WithLabelValues(forgeName, event, "accepted").Inc()
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, "accepted\n")
}
