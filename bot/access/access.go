// Package access owns which of imagebot's HTTP paths each listener serves
// and who may read them: webhooks and health checks on the address the forge
// reaches, pages and API (behind a static bearer token, or sign-in with the
// forge: Login) on another, /metrics on a third or behind the guard. It
// knows paths, not handlers: the bot's one mux is wrapped once per
// listener; handlers ask Login.CanRead which repositories a viewer sees.
package access

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// Part is a set of paths a listener serves.
type Part int

const (
	Webhooks Part = 1 << iota // /webhooks/...
	Health                    // /healthz, /readyz
	Metrics                   // /metrics
	UI                        // everything else: pages, /api/, /static/, downloads
	All      = Webhooks | Health | Metrics | UI
)

// PartOf says which part a path belongs to.
func PartOf(path string) Part {
	switch {
	case strings.HasPrefix(path, "/webhooks/"):
		return Webhooks
	case path == "/healthz" || path == "/readyz":
		return Health
	case path == "/metrics":
		return Metrics
	}
	return UI
}

// Only serves the paths of parts; others answer 404 as if absent.
func Only(h http.Handler, parts Part) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if PartOf(r.URL.Path)&parts == 0 {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Trusted reports whether path belongs to the write API for trusted
// callers (bot/web.TrustedAPI), which checks its callers' own bearer
// tokens: the UI token does not guard it (one Authorization header cannot
// carry both).
func Trusted(path string) bool { return path == "/api/revocations" || path == "/api/promotions" }

// Token requires "Authorization: Bearer <token>" on the paths of guarded
// (compared in constant time), except the trusted callers' paths; an empty
// token guards nothing.
func Token(h http.Handler, token string, guarded Part) http.Handler {
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if PartOf(r.URL.Path)&guarded != 0 && !Trusted(r.URL.Path) &&
			subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="imagebot"`)
			http.Error(w, "a bearer token is required (ui.token)", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Listener is one address and what it serves.
type Listener struct {
	Addr    string
	Handler http.Handler
}

// Plan splits h over the configured addresses. listen always serves the
// webhooks and health checks; uiListen (if set) the pages and API;
// metricsListen (if set) /metrics. Whatever has no address of its own stays
// on listen. The token guards the pages, API and /metrics wherever they
// are served, except /metrics on its own listener (bind that to a private
// address).
func Plan(h http.Handler, listen, uiListen, metricsListen, token string) []Listener {
	return PlanGuarded(h, listen, uiListen, metricsListen, TokenGuard(token))
}

// PlanGuarded is Plan with another guard for the pages, API and /metrics,
// such as a Login's Handler (which also serves the sign-in paths).
func PlanGuarded(h http.Handler, listen, uiListen, metricsListen string, guard Guard) []Listener {
	main := All
	var out []Listener
	if metricsListen != "" {
		main &^= Metrics
		out = append(out, Listener{Addr: metricsListen, Handler: Only(h, Metrics|Health)})
	}
	if uiListen != "" {
		ui := UI | Health | (main & Metrics)
		main &^= UI | Metrics
		out = append(out, Listener{Addr: uiListen, Handler: Only(guard(h, UI|Metrics), ui)})
	}
	return append([]Listener{{Addr: listen, Handler: Only(guard(h, UI|Metrics), main)}}, out...)
}
