package access

import (
	"context"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// start sends the browser to the forge with a fresh state (bound to this
// browser by a cookie) and, where the forge checks it, a PKCE challenge.
func (l *Login) start(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "GET "+LoginPath, http.StatusMethodNotAllowed)
		return
	}
	state, verifier := randomID(), oauth2.GenerateVerifier()
	now := time.Now()
	l.mu.Lock()
	for k, p := range l.pending {
		if now.After(p.expires) {
			delete(l.pending, k)
		}
	}
	if len(l.pending) >= maxSessions {
		l.mu.Unlock()
		http.Error(w, "too many sign-ins in progress; try again in a few minutes", http.StatusServiceUnavailable)
		return
	}
	l.pending[state] = pending{verifier: verifier, next: localPath(r.URL.Query().Get("next")), expires: now.Add(pendingTTL)}
	l.mu.Unlock()
	cookie(w, stateCookie, state, CallbackPath, int(pendingTTL.Seconds()))
	var opts []oauth2.AuthCodeOption
	if l.cfg.Provider.PKCE() {
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	http.Redirect(w, r, l.oauth.AuthCodeURL(state, opts...), http.StatusFound)
}

// callback takes the forge's answer: the state must be the one this
// browser started with (login CSRF), used once; the code is exchanged for
// the user's token, which stays here; the browser gets a session id.
func (l *Login) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	c, err := r.Cookie(stateCookie)
	l.mu.Lock()
	p, ok := l.pending[state]
	delete(l.pending, state)
	l.mu.Unlock()
	cookie(w, stateCookie, "", CallbackPath, -1)
	if err != nil || state == "" || c.Value != state || !ok || time.Now().After(p.expires) {
		http.Error(w, "this sign-in was not started in this browser or has expired; start again at "+LoginPath, http.StatusBadRequest)
		return
	}
	if e := q.Get("error"); e != "" {
		http.Error(w, "the forge refused the sign-in ("+e+")", http.StatusForbidden)
		return
	}
	var opts []oauth2.AuthCodeOption
	if l.cfg.Provider.PKCE() {
		opts = append(opts, oauth2.VerifierOption(p.verifier))
	}
	tok, err := l.oauth.Exchange(context.WithValue(r.Context(), oauth2.HTTPClient, l.cfg.HTTPClient), q.Get("code"), opts...)
	if err != nil {
		l.cfg.Log.Warn().Err(err).Msg("sign-in: token exchange failed")
		http.Error(w, "the forge did not accept the sign-in; start again at "+LoginPath, http.StatusBadGateway)
		return
	}
	client := l.oauth.Client(l.ctx, tok)
	user, err := l.cfg.Provider.User(r.Context(), client)
	if err != nil {
		l.cfg.Log.Warn().Err(err).Msg("sign-in: user lookup failed")
		http.Error(w, "the forge did not say who signed in; start again at "+LoginPath, http.StatusBadGateway)
		return
	}
	id := randomID()
	now := time.Now()
	l.mu.Lock()
	for k, s := range l.sessions {
		if now.After(s.expires) {
			delete(l.sessions, k)
		}
	}
	if len(l.sessions) >= maxSessions {
		l.mu.Unlock()
		http.Error(w, "too many sessions; try again later", http.StatusServiceUnavailable)
		return
	}
	l.sessions[id] = &session{user: user, client: client, expires: now.Add(l.cfg.SessionTTL), reads: map[string]readEntry{}}
	l.mu.Unlock()
	l.cfg.Log.Info().Str("forge", l.cfg.Provider.Name()).Str("user", user.Login).Msg("signed in")
	cookie(w, sessionCookie, id, "/", int(l.cfg.SessionTTL.Seconds()))
	http.Redirect(w, r, p.next, http.StatusFound)
}

// logout ends the session (POST only: a cross-site image cannot sign
// anyone out, and SameSite=Lax keeps the cookie off cross-site POSTs).
func (l *Login) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST "+LogoutPath, http.StatusMethodNotAllowed)
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		l.mu.Lock()
		delete(l.sessions, c.Value)
		l.mu.Unlock()
	}
	cookie(w, sessionCookie, "", "/", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
