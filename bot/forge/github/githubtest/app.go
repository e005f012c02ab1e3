package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/imagebot/imagebot/bot/forge/internal/fakeapi"
)

// App makes the server play a GitHub App's side: JWTs signed with the
// App's key (verified with PublicKey) on the App endpoints, and
// installation tokens, valid TTL, on repository calls of their owner. Set
// it with EnableApp before the calls.
type App struct {
	ID        int64
	PublicKey *rsa.PublicKey
	TTL       time.Duration // lifetime of installation tokens (GitHub: 1 hour)
}

type instToken struct {
	installation int64
	expires      time.Time
}

var (
	reRepoInstallation = regexp.MustCompile(`^/repos/([^/]+)/[^/]+/installation$`)
	reAccessTokens     = regexp.MustCompile(`^/app/installations/(\d+)/access_tokens$`)
)

// EnableApp accepts the App's JWTs and installation tokens (besides Token).
func (s *Server) EnableApp(app App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.app = &app
	s.installs = map[string]int64{}
	s.tokens = map[string]instToken{}
}

// SetInstallation installs the App on owner's account as installation id.
func (s *Server) SetInstallation(owner string, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.installs[strings.ToLower(owner)] = id
}

// TokensMinted counts installation tokens created so far.
func (s *Server) TokensMinted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted
}

// serveApp answers the App endpoints; it reports whether it did.
func (s *Server) serveApp(w http.ResponseWriter, r *http.Request, path string) bool {
	var m []string
	switch {
	case r.Method == http.MethodGet && fakeapi.Match(reRepoInstallation, path, &m):
		if !s.checkJWT(w, r, path) {
			return true
		}
		s.mu.Lock()
		id, ok := s.installs[strings.ToLower(m[1])]
		s.mu.Unlock()
		if !ok {
			fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
			return true
		}
		fakeapi.WriteJSON(w, http.StatusOK, map[string]any{"id": id, "account": map[string]any{"login": m[1]}})
	case r.Method == http.MethodPost && fakeapi.Match(reAccessTokens, path, &m):
		if !s.checkJWT(w, r, path) {
			return true
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		s.mu.Lock()
		known := false
		for _, v := range s.installs {
			known = known || v == id
		}
		if !known {
			s.mu.Unlock()
			s.t.Errorf("githubtest: access token for unknown installation %d", id)
			fakeapi.WriteJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
			return true
		}
		b := make([]byte, 18)
		_, _ = rand.Read(b)
		tok := "ghs_" + hex.EncodeToString(b)
		exp := time.Now().Add(s.app.TTL)
		s.tokens[tok] = instToken{installation: id, expires: exp}
		s.minted++
		s.mu.Unlock()
		fakeapi.WriteJSON(w, http.StatusCreated, map[string]any{"token": tok, "expires_at": exp.UTC().Format(time.RFC3339Nano)})
	default:
		return false
	}
	return true
}

// checkJWT verifies an App JWT: RS256 with the App's key, issuer the App
// id, issued in the past, expiring within 10 minutes of issue.
func (s *Server) checkJWT(w http.ResponseWriter, r *http.Request, path string) bool {
	raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return s.app.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(strconv.FormatInt(s.app.ID, 10)),
		jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	if err == nil && (claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 10*time.Minute) {
		err = jwt.ErrTokenInvalidClaims
	}
	if err != nil {
		s.t.Errorf("githubtest: %s %s with a bad App JWT: %v", r.Method, path, err)
		fakeapi.WriteJSON(w, http.StatusUnauthorized, map[string]string{"message": "A JSON web token could not be decoded"})
		return false
	}
	return true
}

// installationTokenOK reports whether auth is a live installation token of
// the installation on path's repository owner.
func (s *Server) installationTokenOK(auth, path string) bool {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || s.app == nil {
		return false
	}
	parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 3)
	if len(parts) < 2 || parts[0] != "repos" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.tokens[tok]
	return ok && time.Now().Before(it.expires) && s.installs[strings.ToLower(parts[1])] == it.installation
}

// GitTokenOK reports whether token is a live installation token of owner's
// installation: what a git server of the test checks a clone against.
func (s *Server) GitTokenOK(owner, token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.tokens[token]
	return ok && s.app != nil && time.Now().Before(it.expires) && s.installs[strings.ToLower(owner)] == it.installation
}
