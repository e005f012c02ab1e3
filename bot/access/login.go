package access

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/oauth2"
)

// The sign-in paths Login serves itself.
const (
	LoginPath    = "/login"
	CallbackPath = "/oauth/callback"
	LogoutPath   = "/logout"
)

const (
	sessionCookie = "imagebot_session"
	stateCookie   = "imagebot_oauth_state"
	pendingTTL    = 10 * time.Minute // a sign-in must come back from the forge within this
	readTTL       = 5 * time.Minute  // how long a "can read" answer is reused
	maxSessions   = 10000
)

// LoginConfig configures sign-in with a forge (OAuth 2 authorization code).
type LoginConfig struct {
	Provider Provider
	// PublicURL is where browsers reach the pages (https://imagebot.example.com);
	// the forge sends them back to PublicURL + CallbackPath, the callback
	// URL to register in the OAuth application.
	PublicURL string
	// Token, when set, also admits machines sending "Authorization: Bearer
	// <token>"; they see every repository.
	Token string
	// SessionTTL is how long a sign-in lasts; default 12h.
	SessionTTL time.Duration
	// HTTPClient carries the calls to the forge; default a 30 s timeout.
	HTTPClient *http.Client
	Log        zerolog.Logger
}

// Login requires a signed-in forge user (or the machine token) for the
// pages and API, and says which repositories that user may see. Sessions
// live in memory: a restart signs everyone out. The forge's access token
// never leaves the server; the browser holds a random session id in a
// Secure, HttpOnly, SameSite=Lax cookie (Lax, not Strict: the forge's
// redirect back and links from merge-request comments are cross-site
// navigations that must carry it).
type Login struct {
	cfg   LoginConfig
	oauth *oauth2.Config
	ctx   context.Context // carries HTTPClient to oauth2's token calls

	mu       sync.Mutex
	sessions map[string]*session
	pending  map[string]pending // by state
}

type pending struct {
	verifier, next string
	expires        time.Time
}

type session struct {
	user    User
	client  *http.Client // the user's token, refreshed by oauth2
	expires time.Time

	mu    sync.Mutex
	reads map[string]readEntry
}

type readEntry struct {
	ok bool
	at time.Time
}

// NewLogin checks cfg.
func NewLogin(cfg LoginConfig) (*Login, error) {
	if cfg.Provider == nil {
		return nil, errors.New("ui.oauth: no forge configured")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || !pub.IsAbs() || pub.Host == "" {
		return nil, fmt.Errorf("ui.public_url %q: an absolute URL is required for sign-in (the OAuth callback is public_url + %s)", cfg.PublicURL, CallbackPath)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	o := cfg.Provider.OAuth2()
	o.RedirectURL = strings.TrimSuffix(cfg.PublicURL, "/") + CallbackPath
	return &Login{cfg: cfg, oauth: o, ctx: context.WithValue(context.Background(), oauth2.HTTPClient, cfg.HTTPClient),
		sessions: map[string]*session{}, pending: map[string]pending{}}, nil
}

// viewerKey is the request context key of the Viewer.
type viewerKey struct{}

// Viewer is who a request comes from: a signed-in user, or a machine with
// the token (Machine, sees everything).
type Viewer struct {
	User    User
	Machine bool
	s       *session
}

// ViewerOf returns the request's viewer (set by Login.Handler).
func ViewerOf(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(viewerKey{}).(Viewer)
	return v, ok
}

// Handler serves the sign-in paths and lets requests for the paths of
// guarded through only with a session or the token; others pass as they
// are. Pages without a session redirect to sign-in; the API answers 401.
func (l *Login) Handler(next http.Handler, guarded Part) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case LoginPath:
			l.start(w, r)
			return
		case CallbackPath:
			l.callback(w, r)
			return
		case LogoutPath:
			l.logout(w, r)
			return
		}
		if PartOf(r.URL.Path)&guarded == 0 {
			next.ServeHTTP(w, r)
			return
		}
		v, ok := l.viewer(r)
		if !ok {
			l.refuse(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, v)))
	})
}

func (l *Login) viewer(r *http.Request) (Viewer, bool) {
	if l.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+l.cfg.Token)) == 1 {
		return Viewer{Machine: true}, true
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return Viewer{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.sessions[c.Value]
	if !ok || time.Now().After(s.expires) {
		delete(l.sessions, c.Value)
		return Viewer{}, false
	}
	return Viewer{User: s.user, s: s}, true
}

func (l *Login) refuse(w http.ResponseWriter, r *http.Request) {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !strings.HasPrefix(r.URL.Path, "/api/") &&
		strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.Redirect(w, r, LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="imagebot"`)
	http.Error(w, "sign in at "+LoginPath+" (or send the bearer token)", http.StatusUnauthorized)
}

// CanRead says whether the request's viewer may see repo's builds: the
// machine token sees all; a user what the forge lets them read (asked with
// their token, answers reused for readTTL). A failed lookup hides the
// repository; a refused token (401) ends the session.
func (l *Login) CanRead(ctx context.Context, repo string) bool {
	v, ok := ViewerOf(ctx)
	if !ok {
		return false
	}
	if v.Machine {
		return true
	}
	s := v.s
	s.mu.Lock()
	e, cached := s.reads[repo]
	s.mu.Unlock()
	if cached && time.Since(e.at) < readTTL {
		return e.ok
	}
	ok, err := l.cfg.Provider.CanRead(ctx, s.client, repo)
	if err != nil {
		l.cfg.Log.Warn().Err(err).Str("user", v.User.Login).Str("repo", repo).Msg("repository visibility lookup failed; hidden")
		if isUnauthorized(err) {
			l.end(s)
		}
		return false
	}
	s.mu.Lock()
	s.reads[repo] = readEntry{ok: ok, at: time.Now()}
	s.mu.Unlock()
	return ok
}

func isUnauthorized(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) || strings.Contains(err.Error(), "401 Unauthorized")
}

func (l *Login) end(s *session) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, o := range l.sessions {
		if o == s {
			delete(l.sessions, id)
		}
	}
}

// cookie sets a Secure, HttpOnly, SameSite=Lax cookie (maxAge < 0 deletes).
func cookie(w http.ResponseWriter, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// localPath keeps next only when it is a path of this site ("/..."), never
// another site ("//host", "/\host", "https://..."): no open redirect.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

// Visible says whether the request's viewer may see a build of repo on
// forge: the machine token sees all; a signed-in user only builds of this
// Login's forge that CanRead allows.
func (l *Login) Visible(ctx context.Context, forge, repo string) bool {
	if v, ok := ViewerOf(ctx); ok && v.Machine {
		return true
	}
	return forge == l.cfg.Provider.Name() && l.CanRead(ctx, repo)
}
