package fakeapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// OAuthApp is an OAuth application registered on a fake forge.
type OAuthApp struct {
	ClientID, ClientSecret string
	RedirectURI            string // the registered callback; requests must name it exactly
	Scope                  string // the scope the app must ask for
}

// OAuthStyle is what differs between GitLab's and GitHub's documented
// authorization-code flows.
type OAuthStyle struct {
	Who string // "gitlabtest", "githubtest": prefixes test failures
	// RequireResponseType: GitLab requires response_type=code.
	RequireResponseType bool
	// RequireGrantType: GitLab requires grant_type=authorization_code.
	RequireGrantType bool
	// PKCE: GitLab verifies code_verifier against a code_challenge (S256).
	PKCE bool
	// ErrorsAs200: GitHub answers a bad code with 200 and an "error" field.
	ErrorsAs200 bool
	// TokenType as the token endpoint names it ("Bearer", "bearer").
	TokenType string
	// FormUnlessJSON: GitHub answers form-encoded unless the request
	// accepts application/json.
	FormUnlessJSON bool
}

type grant struct {
	user, redirect, challenge string
	expires                   time.Time
}

// OAuth plays a forge's authorization server: the authorize endpoint (the
// forge's consent page, approved at once by the user set with Approve) and
// the token endpoint, checking every parameter the forge documents, and
// the access tokens it issued, for the forge's API endpoints.
type OAuth struct {
	t     testing.TB
	style OAuthStyle
	app   OAuthApp

	mu       sync.Mutex
	approver string
	codes    map[string]grant
	tokens   map[string]string // access token -> user
}

// NewOAuth returns the authorization server of app.
func NewOAuth(t testing.TB, style OAuthStyle, app OAuthApp) *OAuth {
	return &OAuth{t: t, style: style, app: app, codes: map[string]grant{}, tokens: map[string]string{}}
}

// Approve makes user the person signed in to the forge who approves the
// next authorizations ("" refuses them, as a user clicking "Deny").
func (o *OAuth) Approve(user string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.approver = user
}

func (o *OAuth) fail(w http.ResponseWriter, code int, format string, args ...any) {
	o.t.Errorf(o.style.Who+": "+format, args...)
	WriteJSON(w, code, map[string]string{"error": "invalid_request"})
}

// Authorize answers GET of the authorize endpoint with the redirect back
// to the application, carrying a one-use code and the state.
func (o *OAuth) Authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case r.Method != http.MethodGet:
		o.fail(w, http.StatusMethodNotAllowed, "authorize with %s", r.Method)
		return
	case q.Get("client_id") != o.app.ClientID:
		o.fail(w, http.StatusBadRequest, "authorize for client_id %q", q.Get("client_id"))
		return
	case q.Get("redirect_uri") != o.app.RedirectURI:
		o.fail(w, http.StatusBadRequest, "authorize with redirect_uri %q, registered %q", q.Get("redirect_uri"), o.app.RedirectURI)
		return
	case o.style.RequireResponseType && q.Get("response_type") != "code":
		o.fail(w, http.StatusBadRequest, "authorize with response_type %q, want code", q.Get("response_type"))
		return
	case len(q.Get("state")) < 16:
		o.fail(w, http.StatusBadRequest, "authorize with state %q: want an unguessable value", q.Get("state"))
		return
	case !hasScope(q.Get("scope"), o.app.Scope):
		o.fail(w, http.StatusBadRequest, "authorize with scope %q, want %q", q.Get("scope"), o.app.Scope)
		return
	}
	challenge := q.Get("code_challenge")
	if o.style.PKCE && (challenge == "" || q.Get("code_challenge_method") != "S256") {
		o.fail(w, http.StatusBadRequest, "authorize without an S256 code_challenge")
		return
	}
	o.mu.Lock()
	user := o.approver
	back, _ := url.Parse(o.app.RedirectURI)
	v := url.Values{"state": {q.Get("state")}}
	if user == "" {
		v.Set("error", "access_denied")
	} else {
		code := randomHex(20)
		o.codes[code] = grant{user: user, redirect: q.Get("redirect_uri"), challenge: challenge, expires: time.Now().Add(10 * time.Minute)}
		v.Set("code", code)
	}
	o.mu.Unlock()
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func hasScope(got, want string) bool {
	for _, s := range strings.FieldsFunc(got, func(r rune) bool { return r == ' ' || r == ',' }) {
		if s == want {
			return true
		}
	}
	return false
}

// Token answers POST of the token endpoint: a code from Authorize, once,
// for the app's own credentials and redirect_uri (and PKCE verifier).
func (o *OAuth) Token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		o.fail(w, http.StatusMethodNotAllowed, "token with %s", r.Method)
		return
	}
	if err := r.ParseForm(); err != nil {
		o.fail(w, http.StatusBadRequest, "token request body: %v", err)
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != o.app.ClientID || secret != o.app.ClientSecret {
		o.fail(w, http.StatusUnauthorized, "token for client %q with a wrong secret", id)
		return
	}
	if o.style.RequireGrantType && r.PostForm.Get("grant_type") != "authorization_code" {
		o.fail(w, http.StatusBadRequest, "token with grant_type %q", r.PostForm.Get("grant_type"))
		return
	}
	code := r.PostForm.Get("code")
	o.mu.Lock()
	g, ok := o.codes[code]
	delete(o.codes, code) // one use, whatever happens
	o.mu.Unlock()
	if !ok || time.Now().After(g.expires) || r.PostForm.Get("redirect_uri") != g.redirect {
		o.refuse(w, r, "bad_verification_code", "The code passed is incorrect or expired.")
		return
	}
	if o.style.PKCE {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			o.refuse(w, r, "invalid_grant", "The PKCE code verifier does not match the challenge.")
			return
		}
	}
	tok := randomHex(20)
	o.mu.Lock()
	o.tokens[tok] = g.user
	o.mu.Unlock()
	if o.form(r) {
		writeForm(w, http.StatusOK, url.Values{"access_token": {tok}, "token_type": {o.style.TokenType}, "scope": {o.app.Scope}})
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": o.style.TokenType,
		"scope": o.app.Scope, "expires_in": 7200, "created_at": time.Now().Unix()})
}

func (o *OAuth) form(r *http.Request) bool {
	return o.style.FormUnlessJSON && !strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeForm(w http.ResponseWriter, code int, v url.Values) {
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(code)
	w.Write([]byte(v.Encode()))
}

func (o *OAuth) refuse(w http.ResponseWriter, r *http.Request, code, desc string) {
	status := http.StatusBadRequest
	if o.style.ErrorsAs200 {
		status = http.StatusOK
	}
	if o.form(r) {
		writeForm(w, status, url.Values{"error": {code}, "error_description": {desc}})
		return
	}
	WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// UserOf returns whose access token r carries ("Authorization: Bearer").
func (o *OAuth) UserOf(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	user, ok := o.tokens[tok]
	return user, ok
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
