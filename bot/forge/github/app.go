package github

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	gh "github.com/google/go-github/v60/github"

	"github.com/imagebot/imagebot/bot/forge"
)

// AppConfig authenticates as a GitHub App instead of with a token: API
// calls carry an installation token of the repository owner's installation
// (one installation per owner), minted from a JWT signed with the App's
// private key and minted again before it expires.
type AppConfig struct {
	ID         int64  // the App's id
	PrivateKey []byte // the App's PEM private key (a secret)
	// RefreshBefore is how long before its expiry a token is replaced
	// (default 5 minutes; tokens live one hour).
	RefreshBefore time.Duration
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// appAuth holds the App's key and one installation token per owner.
type appAuth struct {
	id     int64
	key    *rsa.PrivateKey
	base   *url.URL
	hc     *http.Client
	margin time.Duration
	now    func() time.Time

	mu     sync.Mutex
	owners map[string]*installation // lower-case owner
	last   string                   // the owner of the last token handed out
}

type installation struct {
	id      int64
	token   string
	expires time.Time
}

func newAppAuth(cfg AppConfig, base *url.URL, hc *http.Client) (*appAuth, error) {
	if cfg.ID <= 0 {
		return nil, errors.New("github app: app_id must be a positive number")
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("github app: private key: %w", err)
	}
	a := &appAuth{id: cfg.ID, key: key, base: base, hc: hc, margin: cfg.RefreshBefore, now: cfg.Now,
		owners: map[string]*installation{}}
	if a.margin <= 0 {
		a.margin = 5 * time.Minute
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// appJWT is the App's own credential: RS256, issued a minute in the past
// against clock drift, valid 9 minutes (GitHub allows 10).
func (a *appAuth) appJWT() (string, error) {
	now := a.now()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(a.id, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	})
	s, err := t.SignedString(a.key)
	if err != nil {
		return "", fmt.Errorf("github app: sign JWT: %w", err)
	}
	return s, nil
}

// token returns a valid installation token for owner/repo's installation,
// looking the installation up and minting a token when needed.
func (a *appAuth) token(ctx context.Context, owner, repo string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	key := strings.ToLower(owner)
	in := a.owners[key]
	if in != nil && a.now().Add(a.margin).Before(in.expires) {
		a.last = key
		return in.token, nil
	}
	if in == nil {
		var body struct {
			ID int64 `json:"id"`
		}
		if err := a.call(ctx, http.MethodGet, "repos/"+url.PathEscape(owner)+"/"+url.PathEscape(repo)+"/installation", &body); err != nil {
			return "", fmt.Errorf("github app: find the installation for %s/%s: %w", owner, repo, err)
		}
		in = &installation{id: body.ID}
	}
	var body struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := a.call(ctx, http.MethodPost, "app/installations/"+strconv.FormatInt(in.id, 10)+"/access_tokens", &body); err != nil {
		return "", fmt.Errorf("github app: installation token for %s (installation %d): %w", owner, in.id, err)
	}
	if body.Token == "" {
		return "", fmt.Errorf("github app: installation %d: empty token", in.id)
	}
	in.token, in.expires = body.Token, body.ExpiresAt
	a.owners[key] = in
	a.last = key
	return in.token, nil
}

// call makes an App-authenticated (JWT) request and decodes the answer.
func (a *appAuth) call(ctx context.Context, method, path string, out any) error {
	j, err := a.appJWT()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base.ResolveReference(&url.URL{Path: path}).String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+j)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// appTransport puts the installation token of the request's repository
// owner on every API request (all of the adapter's calls are /repos/...).
type appTransport struct {
	auth *appAuth
	next http.RoundTripper
}

func (t *appTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rel := strings.TrimPrefix(req.URL.Path, t.auth.base.Path)
	parts := strings.SplitN(rel, "/", 4)
	if len(parts) < 3 || parts[0] != "repos" {
		return nil, fmt.Errorf("github app: %s %s is not a repository call; no installation to use", req.Method, req.URL.Path)
	}
	tok, err := t.auth.token(req.Context(), parts[1], parts[2])
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return t.next.RoundTrip(r)
}

// CloneAuthFor is what git needs to fetch repo over https: with a token,
// that token; as an App, a fresh installation token of repo's owner, valid
// at least RefreshBefore (so ask again before each fetch of a long build).
func (g *GitHub) CloneAuthFor(ctx context.Context, repo forge.Repo) (user, token string, err error) {
	if g.app == nil {
		return "x-access-token", g.cfg.Token, nil
	}
	owner, name, err := ownerRepo(repo)
	if err != nil {
		return "", "", err
	}
	tok, err := g.app.token(ctx, owner, name)
	if err != nil {
		return "", "", err
	}
	return "x-access-token", tok, nil
}

// useApp replaces the token with the App's installation tokens.
func (g *GitHub) useApp(cfg AppConfig, hc *http.Client) (*GitHub, error) {
	a, err := newAppAuth(cfg, g.client.BaseURL, hc)
	if err != nil {
		return nil, err
	}
	g.app = a
	ahc := *hc
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	ahc.Transport = &appTransport{auth: a, next: next}
	base, upload := g.client.BaseURL, g.client.UploadURL
	g.client = gh.NewClient(&ahc)
	g.client.BaseURL, g.client.UploadURL = base, upload
	return g, nil
}

// lastToken is the installation token handed out last (CloneAuth has no
// repository to choose by), or "" before any call.
func (a *appAuth) lastToken() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if in := a.owners[a.last]; in != nil {
		return in.token
	}
	return ""
}
