package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/redact"
)

// Headers of a generic webhook delivery.
const (
	SignatureHeader = "X-Imagebot-Signature" // "sha256=" + hex HMAC-SHA256 of the body
	EventHeader     = "X-Imagebot-Event"     // the event kind
	DeliveryHeader  = "X-Imagebot-Delivery"  // the event id
)

// Sink delivers events somewhere. Send makes one attempt.
type Sink interface {
	Name() string
	// Wants says whether the sink is subscribed to the kind.
	Wants(Kind) bool
	Send(ctx context.Context, ev Event) error
}

// DeliveryError is a failed attempt. Its text never holds a secret.
type DeliveryError struct {
	Sink   string
	Status int // the HTTP status, 0 when none came back
	// Retryable says another attempt may succeed (a network error, 408,
	// 429 or a 5xx); a 4xx otherwise means the request itself is refused.
	Retryable bool
	// RetryAfter is what the receiver asked for (0 when it did not say).
	RetryAfter time.Duration
	msg        string
}

func (e *DeliveryError) Error() string { return "notify " + e.Sink + ": " + e.msg }

// sender is what both sinks share: the HTTP client, the subscription and
// the redactor built from the sink's secrets.
type sender struct {
	name   string
	url    string
	kinds  map[Kind]bool // nil: every kind
	client *http.Client
	red    *redact.Redactor
}

func (s *sender) Name() string { return s.name }

func (s *sender) Wants(k Kind) bool { return s.kinds == nil || s.kinds[k] }

// String names the sink without its address (a Slack URL is a secret).
func (s *sender) String() string { return s.name }

// post sends one request and turns every failure into a *DeliveryError
// whose text went through the sink's redactor.
func (s *sender) post(ctx context.Context, body []byte, header http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return s.fail(0, false, 0, "build the request: %v", err)
	}
	req.Header = header
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "imagebot")
	resp, err := s.client.Do(req)
	if err != nil {
		return s.fail(0, ctx.Err() == nil, 0, "%v", err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	code := resp.StatusCode
	retry := code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
	var after time.Duration
	if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n > 0 {
		after = time.Duration(n) * time.Second
	}
	return s.fail(code, retry, after, "HTTP %d: %s", code, strings.TrimSpace(string(snippet)))
}

func (s *sender) fail(code int, retry bool, after time.Duration, format string, args ...any) error {
	return &DeliveryError{Sink: s.name, Status: code, Retryable: retry, RetryAfter: after,
		msg: s.red.String(fmt.Sprintf(format, args...))}
}

// Webhook posts the event as JSON, signed with HMAC-SHA256 of the body.
type Webhook struct {
	sender
	secret []byte
}

// Send makes one delivery attempt.
func (w *Webhook) Send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return w.fail(0, false, 0, "encode the event: %v", err)
	}
	h := http.Header{}
	h.Set(SignatureHeader, Sign(w.secret, body))
	h.Set(EventHeader, string(ev.Kind))
	h.Set(DeliveryHeader, ev.ID)
	return w.post(ctx, body, h)
}

// Sign is the signature header's value for body: "sha256=<hex>".
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is what Verify returns for a missing or wrong signature.
var ErrBadSignature = errors.New("the X-Imagebot-Signature header does not match the body")

// Verify checks a delivery's signature header in constant time, as a
// receiver does (docs/notifications.md shows the same in a few lines).
func Verify(secret, body []byte, header string) error {
	if !strings.HasPrefix(header, "sha256=") || !hmac.Equal([]byte(header), []byte(Sign(secret, body))) {
		return ErrBadSignature
	}
	return nil
}

// Slack posts the event to a Slack incoming webhook, whose URL is the secret.
type Slack struct{ sender }

// Send makes one delivery attempt.
func (s *Slack) Send(ctx context.Context, ev Event) error {
	text := slackEscape(ev.Summary())
	if ev.URL != "" {
		text += " <" + slackEscape(ev.URL) + "|details>"
	}
	body, err := json.Marshal(map[string]any{"text": text})
	if err != nil {
		return s.fail(0, false, 0, "encode the message: %v", err)
	}
	return s.post(ctx, body, http.Header{})
}

// slackEscape escapes what Slack reads as markup: &, < and >, so that text
// from a merge request or a revocation reason cannot mention @channel or
// forge a link.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
