package notify

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/redact"
)

// SinkConfig is one entry of the `notifications:` list (docs/notifications.md).
// The webhook secret and the Slack URL (which is itself a secret) come from
// a file or an environment variable, never from the YAML.
type SinkConfig struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"` // webhook or slack
	// URL is the webhook's address (webhook only; Slack's is a secret).
	URL string `yaml:"url,omitempty"`
	// URLFile / URLEnv hold the Slack incoming-webhook URL.
	URLFile string `yaml:"url_file,omitempty"`
	URLEnv  string `yaml:"url_env,omitempty"`
	// SecretFile / SecretEnv hold the webhook's HMAC secret (required).
	SecretFile string `yaml:"secret_file,omitempty"`
	SecretEnv  string `yaml:"secret_env,omitempty"`
	// Events subscribes to these kinds only; empty means all.
	Events []Kind `yaml:"events,omitempty"`
	// Timeout bounds one attempt; zero means 10 seconds.
	Timeout time.Duration `yaml:"timeout,omitempty"`
}

var sinkNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// Build turns the configuration into sinks, reading their secrets. Every
// problem is reported with its entry (notifications[1].secret_file: ...).
// client nil means http.DefaultTransport with the configured timeout.
func Build(cfgs []SinkConfig, client *http.Client) ([]Sink, error) {
	var out []Sink
	var errs []error
	seen := map[string]bool{}
	for i, c := range cfgs {
		where := fmt.Sprintf("notifications[%d]", i)
		if c.Name != "" {
			where += " (" + c.Name + ")"
		}
		if !sinkNameRE.MatchString(c.Name) {
			errs = append(errs, fmt.Errorf("%s.name %q: want a lowercase word", where, c.Name))
		} else if seen[c.Name] {
			errs = append(errs, fmt.Errorf("%s.name %q is used twice", where, c.Name))
		}
		seen[c.Name] = true
		s, err := build(c, where, client)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

func build(c SinkConfig, where string, client *http.Client) (Sink, error) {
	var errs []error
	var kinds map[Kind]bool
	for j, k := range c.Events {
		if !knownKind(k) {
			errs = append(errs, fmt.Errorf("%s.events[%d] %q: want one of %v", where, j, k, Kinds))
		}
		if kinds == nil {
			kinds = map[Kind]bool{}
		}
		kinds[k] = true
	}
	if client == nil {
		t := c.Timeout
		if t <= 0 {
			t = 10 * time.Second
		}
		client = &http.Client{Timeout: t}
	}
	snd := sender{name: c.Name, kinds: kinds, client: client}
	switch c.Type {
	case "webhook":
		if c.URLFile != "" || c.URLEnv != "" {
			errs = append(errs, fmt.Errorf("%s: url_file and url_env are for slack; a webhook takes url", where))
		}
		snd.url = c.URL
		if err := checkURL(c.URL); err != nil {
			errs = append(errs, fmt.Errorf("%s.url: %w", where, err))
		}
		secret, err := readSecret(where, "secret", c.SecretFile, c.SecretEnv)
		if err == nil && secret == "" {
			err = fmt.Errorf("%s: a webhook needs secret_file or secret_env (its HMAC key)", where)
		}
		if err != nil {
			errs = append(errs, err)
		}
		snd.red = redact.New(secret)
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return &Webhook{sender: snd, secret: []byte(secret)}, nil
	case "slack":
		if c.URL != "" || c.SecretFile != "" || c.SecretEnv != "" {
			errs = append(errs, fmt.Errorf("%s: a Slack webhook's URL is a secret: give url_file or url_env, not url (and no secret_*)", where))
		}
		u, err := readSecret(where, "url", c.URLFile, c.URLEnv)
		if err == nil && u == "" {
			err = fmt.Errorf("%s: slack needs url_file or url_env", where)
		}
		if err == nil {
			if cerr := checkURL(u); cerr != nil {
				err = fmt.Errorf("%s: the URL in %s: %v", where, c.URLFile+c.URLEnv, redact.New(u).String(cerr.Error()))
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
		snd.url, snd.red = u, redact.New(urlSecrets(u)...)
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return &Slack{sender: snd}, nil
	}
	return nil, errors.Join(append(errs, fmt.Errorf("%s.type %q: want webhook or slack", where, c.Type))...)
}

// urlSecrets are the forms of a secret URL that may be printed alone: the
// whole URL, its path and query (where Slack keeps the token) and each
// path segment longer than a word.
func urlSecrets(s string) []string {
	out := []string{s}
	u, err := url.Parse(s)
	if err != nil {
		return out
	}
	out = append(out, u.Path, u.RawQuery, u.RequestURI())
	for _, seg := range strings.Split(u.Path, "/") {
		if len(seg) >= 8 {
			out = append(out, seg)
		}
	}
	return out
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	return nil
}

// readSecret reads a secret from a file (trailing newline trimmed) or an
// environment variable; "" when neither is given. Values never enter errors.
func readSecret(where, field, file, env string) (string, error) {
	switch {
	case file != "" && env != "":
		return "", fmt.Errorf("%s: give %s_file or %s_env, not both", where, field, field)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s.%s_file: %w", where, field, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok {
			return "", fmt.Errorf("%s.%s_env: $%s is not set", where, field, env)
		}
		return v, nil
	}
	return "", nil
}
