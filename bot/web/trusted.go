package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/notify"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/withdraw"
)

// Caller is one trusted caller of the write API: the name recorded as who
// acted, and its bearer token (from a file or the environment, never YAML).
type Caller struct {
	Name  string
	Token string
}

// TrustedAPI is the write API for trusted callers (docs/provenance.md):
//
//	POST /api/revocations  {"release": "rocky9@1.2.0", "reason": "...", "descendants": true}
//	POST /api/promotions   {"release": "rocky9@1.3.0", "channel": "stable"}
//
// Every request needs "Authorization: Bearer <token>" of a configured
// caller, whose name is recorded as who revoked or promoted (a body cannot
// claim to be someone else). With no caller configured every request is
// refused. Revoking withdraws content library items (runner/withdraw) and
// queues one release.revoked notification per revoked release; promoting
// obeys the channel policy in store.SetChannel.
type TrustedAPI struct {
	Store    store.Store
	Callers  []Caller
	Library  withdraw.Library // nil: no vCenter
	Withdraw withdraw.Config
	Policy   *store.ChannelPolicy // nil: any caller may move any channel
	// Notify queues events (the bot's outbox delivers them); nil: none.
	Notify     func(ctx context.Context, evs []notify.Event) error
	Repository string // for the events
	PageURL    string // the web page's root, for the events' links
	Now        func() time.Time
	Log        zerolog.Logger
}

// Routes are the patterns to mount the API at (bot.Server.Mount).
var TrustedRoutes = []string{"POST /api/revocations", "POST /api/promotions"}

func (a *TrustedAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	who, ok := a.caller(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="imagebot"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a trusted caller's bearer token is required"})
		return
	}
	switch r.URL.Path {
	case "/api/revocations":
		a.revoke(w, r, who)
	case "/api/promotions":
		a.promote(w, r, who)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint"})
	}
}

// caller finds the caller whose token the request carries, comparing
// digests in constant time so neither a token's length nor its prefix leaks.
func (a *TrustedAPI) caller(r *http.Request) (string, bool) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		return "", false
	}
	g := sha256.Sum256([]byte(got))
	name := ""
	for _, c := range a.Callers {
		want := sha256.Sum256([]byte(c.Token))
		if c.Token != "" && subtle.ConstantTimeCompare(g[:], want[:]) == 1 {
			name = c.Name
		}
	}
	return name, name != ""
}

// decode reads a small JSON body strictly; it answers 400 itself.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "request body: " + err.Error()})
		return false
	}
	return true
}

type revokeRequest struct {
	Release     string `json:"release"`
	Reason      string `json:"reason"`
	Descendants bool   `json:"descendants"`
}

type revokeAnswer struct {
	Revoked   []store.Revocation `json:"revoked"`
	Already   []store.Revocation `json:"already_revoked"`
	Channels  []store.Channel    `json:"channels_moved"`
	Withdrawn []string           `json:"withdrawn"`
	Left      []string           `json:"left_in_place"`
	Errors    []string           `json:"errors,omitempty"`
}

func (a *TrustedAPI) revoke(w http.ResponseWriter, r *http.Request, who string) {
	var req revokeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Reason) == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "reason: say why the release is revoked (it is stored and shown)"})
		return
	}
	ref, ok := a.release(w, r.Context(), req.Release)
	if !ok {
		return
	}
	res, err := withdraw.Revoke(r.Context(), a.Store, store.RevokeRequest{Release: ref, By: who, Reason: req.Reason,
		Descendants: req.Descendants, Now: a.now()}, a.Library, a.Withdraw)
	ans := revokeAnswer{Revoked: res.Revoked, Already: res.Already, Channels: res.Channels, Withdrawn: []string{}, Left: []string{}}
	for _, x := range res.Withdrawn {
		ans.Withdrawn = append(ans.Withdrawn, x.String())
	}
	for _, x := range res.Left {
		ans.Left = append(ans.Left, x.Release.String()+" "+x.From.Where)
	}
	if err != nil && len(res.Revoked)+len(res.Already) == 0 {
		a.Log.Error().Err(err).Str("release", ref.String()).Str("caller", who).Msg("trusted API: revoke")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the revocation could not be written"})
		return
	}
	if err != nil {
		// Revoked, but a withdrawal (or a channel move) failed: say so.
		a.Log.Warn().Err(err).Str("release", ref.String()).Msg("trusted API: revoked, with errors")
		ans.Errors = append(ans.Errors, err.Error())
	}
	if a.Notify != nil && len(res.Revoked) > 0 {
		if err := a.Notify(r.Context(), notify.Revoked(res.Revoked, a.Repository, a.PageURL)); err != nil {
			a.Log.Error().Err(err).Msg("trusted API: queue the revocation notifications")
			ans.Errors = append(ans.Errors, "the notifications could not be queued")
		}
	}
	a.Log.Info().Str("release", ref.String()).Str("caller", who).Int("revoked", len(res.Revoked)).Msg("trusted API: revoked")
	writeJSON(w, http.StatusOK, ans)
}

type promoteRequest struct {
	Release string `json:"release"`
	Channel string `json:"channel"`
}

func (a *TrustedAPI) promote(w http.ResponseWriter, r *http.Request, who string) {
	var req promoteRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if err := store.ValidChannel(req.Channel); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "channel: " + err.Error()})
		return
	}
	ref, ok := a.release(w, r.Context(), req.Release)
	if !ok {
		return
	}
	c, err := store.SetChannel(r.Context(), a.Store, store.ChannelRequest{Release: ref, Channel: req.Channel, By: who, Policy: a.Policy, Now: a.now()})
	switch {
	case errors.Is(err, store.ErrChannelDenied):
		writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
	case errors.Is(err, store.ErrRevoked):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	case err != nil:
		a.Log.Error().Err(err).Str("release", ref.String()).Msg("trusted API: promote")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the channel could not be moved"})
	default:
		writeJSON(w, http.StatusOK, c)
	}
}

// release resolves "image@version" or "image@channel" to a published
// release; it answers 400 or 404 itself.
func (a *TrustedAPI) release(w http.ResponseWriter, ctx context.Context, arg string) (store.Ref, bool) {
	image, version, ok := strings.Cut(arg, "@")
	if !ok || image == "" || version == "" || version == "latest" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("release %q: want image@version, e.g. rocky9@1.2.0", arg)})
		return store.Ref{}, false
	}
	ref, err := store.Resolve(ctx, a.Store, image, version)
	if err == nil && ref.Kind != store.KindRelease {
		err = fmt.Errorf("%s is a merge-request build, not a release", arg)
	}
	if err == nil {
		_, err = a.Store.Stat(ctx, ref.Key(store.ManifestName))
	}
	if err != nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("release %q: %v", arg, err)})
		return store.Ref{}, false
	}
	return ref, true
}

func (a *TrustedAPI) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
