package access

import (
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"
)

// OAuthSettings are the configuration's `ui.oauth:` keys: sign-in with a
// forge's OAuth application (see Login). The client secret comes from
// IMAGEBOT_UI_OAUTH_CLIENT_SECRET or client_secret_file, never the file.
type OAuthSettings struct {
	Forge            string        `yaml:"forge"`   // gitlab or github; empty: no sign-in
	WebURL           string        `yaml:"web_url"` // https://gitlab.example.com; GitHub: https://github.com (default)
	APIURL           string        `yaml:"api_url"` // default: <web_url>/api/v4/ (GitLab), https://api.github.com/
	ClientID         string        `yaml:"client_id"`
	ClientSecret     string        `yaml:"-" secret:"client_secret"`
	ClientSecretFile string        `yaml:"client_secret_file"`
	Scopes           []string      `yaml:"scopes"`      // default read_api (GitLab), repo (GitHub)
	SessionTTL       time.Duration `yaml:"session_ttl"` // default 12h
}

// Enabled says sign-in is configured.
func (s OAuthSettings) Enabled() bool { return s.Forge != "" }

// NewLoginFrom builds the Login of the settings: publicURL is where
// browsers reach the pages, token the machine token (may be empty).
func NewLoginFrom(s OAuthSettings, publicURL, token string, log zerolog.Logger) (*Login, error) {
	pc := ProviderConfig{WebURL: s.WebURL, APIURL: s.APIURL, ClientID: s.ClientID, ClientSecret: s.ClientSecret, Scopes: s.Scopes}
	var p Provider
	var err error
	switch s.Forge {
	case "gitlab":
		p, err = GitLab(pc)
	case "github":
		p, err = GitHub(pc)
	default:
		return nil, fmt.Errorf("ui.oauth.forge %q: want gitlab or github", s.Forge)
	}
	if err != nil {
		return nil, err
	}
	return NewLogin(LoginConfig{Provider: p, PublicURL: publicURL, Token: token, SessionTTL: s.SessionTTL, Log: log})
}

// Guard protects the paths of guarded parts of a handler (Token, or a
// Login's Handler).
type Guard func(h http.Handler, guarded Part) http.Handler

// TokenGuard is Token as a Guard.
func TokenGuard(token string) Guard {
	return func(h http.Handler, guarded Part) http.Handler { return Token(h, token, guarded) }
}
