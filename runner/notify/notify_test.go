package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/notify"
	"github.com/imagebot/imagebot/runner/store"
)

const secret = "whsec-0123456789abcdef"

// receiver is a local webhook endpoint that answers the next codes in turn
// (then 204) and keeps every request.
type receiver struct {
	srv   *httptest.Server
	codes []int
	got   []*http.Request
	body  [][]byte
}

func newReceiver(t *testing.T, path string, codes ...int) *receiver {
	r := &receiver{codes: codes}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != path || req.Method != http.MethodPost {
			t.Errorf("receiver: %s %s, want POST %s", req.Method, req.URL.Path, path)
		}
		b, _ := io.ReadAll(req.Body)
		r.got, r.body = append(r.got, req), append(r.body, b)
		code := http.StatusNoContent
		if len(r.codes) > 0 {
			code, r.codes = r.codes[0], r.codes[1:]
		}
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(code)
		// A careless receiver echoes what it got, secrets included.
		fmt.Fprintf(w, "no thanks, %s %s", req.URL.Path, secret)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func sinks(t *testing.T, cfgs ...notify.SinkConfig) []notify.Sink {
	t.Helper()
	s, err := notify.Build(cfgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func secretFile(t *testing.T, value string) string {
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var revoked = notify.Event{ID: "ev-1", Kind: notify.ReleaseRevoked, At: time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC),
	Image: "rocky9", Version: "1.2.0", Actor: "alice", Reason: "CVE-2026-1 <!channel> & co", URL: "https://imagebot.test/images/rocky9/1.2.0"}

func TestWebhookSignsTheBodyAndTheReceiverVerifiesIt(t *testing.T) {
	rcv := newReceiver(t, "/hook")
	s := sinks(t, notify.SinkConfig{Name: "ops", Type: "webhook", URL: rcv.srv.URL + "/hook", SecretFile: secretFile(t, secret)})[0]
	if err := s.Send(context.Background(), revoked); err != nil {
		t.Fatal(err)
	}
	req, body := rcv.got[0], rcv.body[0]
	if err := notify.Verify([]byte(secret), body, req.Header.Get(notify.SignatureHeader)); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if req.Header.Get(notify.EventHeader) != "release.revoked" || req.Header.Get(notify.DeliveryHeader) != "ev-1" ||
		req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", req.Header)
	}
	var got notify.Event
	if err := json.Unmarshal(body, &got); err != nil || got.Image != "rocky9" || got.Kind != notify.ReleaseRevoked || got.Reason != revoked.Reason {
		t.Fatalf("body %s: %v", body, err)
	}
	for name, tc := range map[string]struct {
		secret, body, header string
	}{
		"wrong secret":   {"other", string(body), req.Header.Get(notify.SignatureHeader)},
		"tampered body":  {secret, strings.Replace(string(body), "1.2.0", "1.2.1", 1), req.Header.Get(notify.SignatureHeader)},
		"no signature":   {secret, string(body), ""},
		"other algoritm": {secret, string(body), strings.Replace(req.Header.Get(notify.SignatureHeader), "sha256=", "sha1=", 1)},
	} {
		if err := notify.Verify([]byte(tc.secret), []byte(tc.body), tc.header); !errors.Is(err, notify.ErrBadSignature) {
			t.Errorf("%s: Verify = %v", name, err)
		}
	}
}

// TestFailedDeliveriesSayWhetherToRetryAndHoldNoSecret covers both sinks:
// the receiver's answer (which echoes the secret) and a refused connection
// (whose error names the URL, the Slack secret) come back redacted.
func TestFailedDeliveriesSayWhetherToRetryAndHoldNoSecret(t *testing.T) {
	const slackPath = "/services/T0001/B0002/xoxSLACKSECRETtoken42"
	t.Setenv("HOOK_SECRET", secret)
	for _, tc := range []struct {
		code       int
		retry      bool
		retryAfter time.Duration
	}{
		{http.StatusInternalServerError, true, 0},
		{http.StatusBadGateway, true, 0},
		{http.StatusTooManyRequests, true, 7 * time.Second},
		{http.StatusRequestTimeout, true, 0},
		{http.StatusBadRequest, false, 0},
		{http.StatusNotFound, false, 0},
	} {
		hook := newReceiver(t, "/hook", tc.code)
		slack := newReceiver(t, slackPath, tc.code)
		t.Setenv("SLACK_URL", slack.srv.URL+slackPath)
		all := sinks(t,
			notify.SinkConfig{Name: "ops", Type: "webhook", URL: hook.srv.URL + "/hook", SecretEnv: "HOOK_SECRET"},
			notify.SinkConfig{Name: "chat", Type: "slack", URLEnv: "SLACK_URL"})
		for i, s := range all {
			err := s.Send(context.Background(), revoked)
			var de *notify.DeliveryError
			if !errors.As(err, &de) || de.Status != tc.code || de.Retryable != tc.retry || de.RetryAfter != tc.retryAfter {
				t.Fatalf("%s answering %d: %#v", s.Name(), tc.code, err)
			}
			checkNoSecret(t, err.Error(), []string{secret, "xoxSLACKSECRETtoken42"}[i])
			if !strings.Contains(err.Error(), fmt.Sprintf("notify %s: HTTP %d", s.Name(), tc.code)) {
				t.Errorf("error %q does not say what failed", err)
			}
		}
	}
	// Nobody listening: retryable, and the URL (Slack's secret) is not in the error.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	t.Setenv("SLACK_URL", dead.URL+slackPath)
	s := sinks(t, notify.SinkConfig{Name: "chat", Type: "slack", URLEnv: "SLACK_URL"})[0]
	err := s.Send(context.Background(), revoked)
	var de *notify.DeliveryError
	if !errors.As(err, &de) || !de.Retryable || de.Status != 0 {
		t.Fatalf("refused connection: %#v", err)
	}
	checkNoSecret(t, err.Error(), "xoxSLACKSECRETtoken42")
	checkNoSecret(t, fmt.Sprintf("%v %+v %s", s, s, s), "xoxSLACKSECRETtoken42")
}

func checkNoSecret(t *testing.T, text, secret string) {
	t.Helper()
	if strings.Contains(text, secret) {
		t.Errorf("%q holds the secret", text)
	}
}

func TestSlackMessageEscapesMarkup(t *testing.T) {
	const path = "/services/T1/B1/abcdefgh"
	rcv := newReceiver(t, path)
	s := sinks(t, notify.SinkConfig{Name: "chat", Type: "slack", URLFile: secretFile(t, rcv.srv.URL+path)})[0]
	if err := s.Send(context.Background(), revoked); err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal(rcv.body[0], &msg); err != nil {
		t.Fatal(err)
	}
	want := "Revoked rocky9@1.2.0 by alice: CVE-2026-1 &lt;!channel&gt; &amp; co <https://imagebot.test/images/rocky9/1.2.0|details>"
	if msg.Text != want {
		t.Fatalf("text %q\nwant %q", msg.Text, want)
	}
	if rcv.got[0].Header.Get(notify.SignatureHeader) != "" {
		t.Error("a Slack message carries a webhook signature")
	}
}

func TestSubscriptions(t *testing.T) {
	s := sinks(t, notify.SinkConfig{Name: "ops", Type: "webhook", URL: "http://127.0.0.1:1/x", SecretFile: secretFile(t, secret),
		Events: []notify.Kind{notify.ReleaseRevoked, notify.BuildFailed}})[0]
	for _, k := range notify.Kinds {
		want := k == notify.ReleaseRevoked || k == notify.BuildFailed
		if s.Wants(k) != want {
			t.Errorf("Wants(%s) = %v", k, !want)
		}
	}
}

func TestBuildNamesEachBadEntry(t *testing.T) {
	t.Setenv("EMPTY_SLACK", "")
	for _, tc := range []struct {
		cfg  notify.SinkConfig
		want string
	}{
		{notify.SinkConfig{Name: "ops", Type: "webhook", URL: "https://x.test/h"}, "notifications[0] (ops): a webhook needs secret_file or secret_env"},
		{notify.SinkConfig{Name: "ops", Type: "webhook", URL: "ftp://x", SecretEnv: "NOPE_NOT_SET"}, "notifications[0] (ops).url: \"ftp://x\" is not an http(s) URL"},
		{notify.SinkConfig{Name: "ops", Type: "webhook", URL: "https://x.test/h", SecretEnv: "NOPE_NOT_SET"}, "notifications[0] (ops).secret_env: $NOPE_NOT_SET is not set"},
		{notify.SinkConfig{Name: "chat", Type: "slack", URL: "https://hooks.slack.test/services/x"}, "a Slack webhook's URL is a secret"},
		{notify.SinkConfig{Name: "chat", Type: "slack", URLEnv: "EMPTY_SLACK"}, "slack needs url_file or url_env"},
		{notify.SinkConfig{Name: "chat", Type: "teams"}, `notifications[0] (chat).type "teams": want webhook or slack`},
		{notify.SinkConfig{Name: "Ops!", Type: "slack", URLEnv: "EMPTY_SLACK"}, `notifications[0] (Ops!).name "Ops!"`},
		{notify.SinkConfig{Name: "ops", Type: "webhook", URL: "https://x.test/h", SecretFile: "/nonexistent/s", Events: []notify.Kind{"release.deleted"}}, `events[0] "release.deleted"`},
	} {
		_, err := notify.Build([]notify.SinkConfig{tc.cfg}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Build(%+v) = %v\nwant it to say %s", tc.cfg, err, tc.want)
		}
	}
	t.Setenv("SLACK_BAD", "not a url with xoxSECRET")
	_, err := notify.Build([]notify.SinkConfig{{Name: "chat", Type: "slack", URLEnv: "SLACK_BAD"}}, nil)
	if err == nil {
		t.Fatal("a Slack URL that is no URL was accepted")
	}
	checkNoSecret(t, err.Error(), "xoxSECRET")
	_, err = notify.Build([]notify.SinkConfig{{Name: "a", Type: "slack", URLEnv: "SLACK_BAD"}, {Name: "a", Type: "slack"}}, nil)
	if err == nil || !strings.Contains(err.Error(), `notifications[1] (a).name "a" is used twice`) {
		t.Errorf("duplicate names: %v", err)
	}
}

func TestRevokedMakesOneEventPerRelease(t *testing.T) {
	at := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	evs := notify.Revoked([]store.Revocation{
		{Image: "base9", Version: "1.1.0", By: "bob", At: at, Reason: "CVE-1"},
		{Image: "rocky9", Version: "1.3.0", By: "bob", At: at, Reason: "CVE-1", Cause: "base9@1.1.0"},
	}, "https://git.test/infra/images", "https://imagebot.test/")
	if len(evs) != 2 || evs[0].ID == evs[1].ID || evs[1].Kind != notify.ReleaseRevoked ||
		evs[1].Reason != "CVE-1 (built on revoked base9@1.1.0)" || evs[1].URL != "https://imagebot.test/images/rocky9/1.3.0" {
		t.Fatalf("events %+v", evs)
	}
}
