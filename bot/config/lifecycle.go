package config

// The release-lifecycle sections: who may move channels, how revoked
// releases leave content libraries, notification sinks, the trusted callers
// of the write API and the cascade/refresh switches (issue 15).

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/cascade"
	"github.com/imagebot/imagebot/runner/notify"
)

// API configures the write API for trusted callers (POST /api/revocations,
// /api/promotions). Each caller's token comes from token_file or
// IMAGEBOT_API_TOKEN_<NAME> (upper case, '-' as '_'); no caller: refused.
type API struct {
	Callers []Caller `yaml:"callers" env:"-"`
}

// Caller is one trusted caller; Token is filled when the config is loaded.
type Caller struct {
	Name      string `yaml:"name"`
	TokenFile string `yaml:"token_file"`
	Token     string `yaml:"-"`
}

// Cascade configures cascades and scheduled refresh.
type Cascade struct {
	// Enabled opens bump merge requests when a base is released and when a
	// refresh schedule comes due; off by default.
	Enabled bool `yaml:"enabled"`
	// Group is base (one merge request per base release, default) or image.
	Group cascade.Grouping `yaml:"group"`
	// Tick is how often the scheduler looks for due refreshes (default 10m).
	Tick time.Duration `yaml:"tick"`
	// Repositories are refreshed on schedule (their default branch's
	// env.yaml refresh: keys); when any is listed, cascades are opened only
	// for these (per-repository switch), else for every repository.
	Repositories []RefreshRepo `yaml:"repositories" env:"-"`
}

// RefreshRepo is a repository whose images are refreshed on schedule.
type RefreshRepo struct {
	Forge    string `yaml:"forge"`     // gitlab or github
	Repo     string `yaml:"repo"`      // group/project, owner/repo
	CloneURL string `yaml:"clone_url"` // https clone address
	Branch   string `yaml:"branch"`    // default branch; "" means main
}

var callerNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// lifecycle checks the lifecycle sections and reads the callers' tokens.
func (c *Config) lifecycle(vars map[string]string) error {
	var errs []error
	if err := c.ChannelPolicy.Check("config channel_policy"); err != nil {
		errs = append(errs, err)
	}
	if err := c.Revocation.Check(); err != nil {
		errs = append(errs, fmt.Errorf("config %w", err))
	}
	if err := cascade.CheckGrouping(c.Cascade.Group); err != nil {
		errs = append(errs, fmt.Errorf("config %w", err))
	}
	for i := range c.Cascade.Repositories {
		r := &c.Cascade.Repositories[i]
		if r.Branch == "" {
			r.Branch = "main"
		}
		if (r.Forge != "gitlab" && r.Forge != "github") || !strings.Contains(r.Repo, "/") || r.CloneURL == "" {
			errs = append(errs, fmt.Errorf("config cascade.repositories[%d]: want forge (gitlab or github), repo (group/project) and clone_url", i))
		}
	}
	if c.Cascade.Tick <= 0 {
		c.Cascade.Tick = 10 * time.Minute
	}
	if _, err := notify.Build(c.Notifications, nil); err != nil {
		errs = append(errs, fmt.Errorf("config %w", err))
	}
	seen := map[string]bool{}
	for i := range c.API.Callers {
		cl := &c.API.Callers[i]
		where := fmt.Sprintf("config api.callers[%d]", i)
		if !callerNameRE.MatchString(cl.Name) || seen[cl.Name] {
			errs = append(errs, fmt.Errorf("%s.name %q: want a unique lowercase word", where, cl.Name))
			continue
		}
		seen[cl.Name] = true
		env := "IMAGEBOT_API_TOKEN_" + strings.ToUpper(strings.ReplaceAll(cl.Name, "-", "_"))
		switch {
		case vars[env] != "":
			cl.Token = vars[env]
		case cl.TokenFile != "":
			b, err := os.ReadFile(cl.TokenFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.token_file: %w", where, err))
				continue
			}
			cl.Token = strings.TrimSpace(string(b))
		}
		if len(cl.Token) < 16 {
			errs = append(errs, fmt.Errorf("%s (%s): a token of at least 16 characters is required (token_file or %s)", where, cl.Name, env))
		}
	}
	return errors.Join(errs...)
}
