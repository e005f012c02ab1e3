// Package config owns imagebot serve's configuration: the YAML file, the
// IMAGEBOT_* environment variables that override it, the embedded defaults
// (SQLite file, builds on this host, artifacts in a local directory) and
// secrets, which come only from the environment or from files.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imagebot/imagebot/bot/access"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/attest"
	"github.com/imagebot/imagebot/runner/notify"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/vsphere"
	"github.com/imagebot/imagebot/runner/withdraw"
)

// Config is everything imagebot serve and imagebot runner read.
type Config struct {
	Listen string `yaml:"listen"` // address the HTTP server listens on (webhooks; everything when ui_listen is unset)
	// UIListen, when set, serves the pages, the JSON API and (without
	// metrics_listen) /metrics on their own address; listen then serves only
	// the webhooks and health checks.
	UIListen string `yaml:"ui_listen"`
	// MetricsListen, when set, serves /metrics alone on its own address.
	MetricsListen string `yaml:"metrics_listen"`
	UI            UI     `yaml:"ui"`
	PublicURL     string `yaml:"public_url"` // how forges and browsers reach the server; links in comments use it
	DataDir       string `yaml:"data_dir"`   // state: database file, work directories, local artifacts

	Database Database        `yaml:"database"`
	Queue    Queue           `yaml:"queue"`
	GitLab   Forge           `yaml:"gitlab"`
	GitHub   Forge           `yaml:"github"`
	Trust    Trust           `yaml:"trust"`
	Store    store.Config    `yaml:"store"`  // local directory (default) or S3; see runner/store
	Runner   runner.Settings `yaml:"runner"` // how this host builds; see runner
	// VSphere is the deployment's vCenter (vSphere builds, leftover sweeps,
	// content library); its password only from IMAGEBOT_VSPHERE_PASSWORD or
	// vsphere.password_file. Unset url: no vSphere.
	VSphere vsphere.Config `yaml:"vsphere"`
	Builds  Builds         `yaml:"builds"`
	Report  Report         `yaml:"report"`
	Log     Log            `yaml:"log"`
	// Provenance signs every published build (runner/attest); no key_file: unsigned.
	Provenance attest.Config `yaml:"provenance"`
	// The release lifecycle (lifecycle.go): who may move which channel,
	// how revoked releases leave content libraries, notification sinks,
	// the trusted callers of the write API, cascades and refresh.
	ChannelPolicy *store.ChannelPolicy `yaml:"channel_policy" env:"-"`
	Revocation    withdraw.Config      `yaml:"revocation"`
	Notifications []notify.SinkConfig  `yaml:"notifications" env:"-"`
	API           API                  `yaml:"api"`
	Cascade       Cascade              `yaml:"cascade"`

	derivedURL bool // PublicURL came from Listen
	uiDerived  bool // UI.PublicURL came from PublicURL or UIListen
}

// Database selects where state and the queue live.
type Database struct {
	Driver string `yaml:"driver"` // sqlite (default) or postgres
	Path   string `yaml:"path"`   // sqlite file; default <data_dir>/imagebot.db
	// URL is the PostgreSQL connection string; a secret (it carries the password).
	URL     string `yaml:"-" secret:"url"`
	URLFile string `yaml:"url_file"`
	// Synchronous is SQLite's synchronous pragma in WAL mode: normal
	// (default: a commit survives a crash of imagebot, not of the machine;
	// no fsync per webhook) or full (every commit is fsynced before the
	// webhook is answered: survives power loss, costs a disk flush each).
	Synchronous string `yaml:"synchronous"`
}

// Queue tunes the River queue and this process's share of its work.
type Queue struct {
	EventWorkers  int           `yaml:"event_workers"`  // concurrent webhook-event jobs
	ReportWorkers int           `yaml:"report_workers"` // concurrent comment/status deliveries
	BuildWorkers  int           `yaml:"build_workers"`  // concurrent builds on this host; 0: this process builds nothing
	Capabilities  []string      `yaml:"capabilities"`   // build queues this host serves: kvm, vsphere
	RescueAfter   time.Duration `yaml:"rescue_after"`   // a running job older than this is presumed dead (PostgreSQL fleets)
	// Heartbeat is how often a build host beats for each build it runs;
	// LostAfter is how old the beat may get before a serve process takes
	// the build back and another host re-runs it (PostgreSQL fleets; 0: off).
	Heartbeat   time.Duration `yaml:"heartbeat"`
	LostAfter   time.Duration `yaml:"lost_after"`
	BatchWindow time.Duration `yaml:"batch_window"` // group-commit window for webhook deliveries
	Work        *bool         `yaml:"work"`         // false: accept webhooks only, leave the work to other processes
}

// Forge configures one forge. A forge without a webhook secret is disabled.
type Forge struct {
	BaseURL           string `yaml:"base_url"` // https://gitlab.com, https://api.github.com
	Token             string `yaml:"-" secret:"token"`
	TokenFile         string `yaml:"token_file"`
	WebhookSecret     string `yaml:"-" secret:"webhook_secret"`
	WebhookSecretFile string `yaml:"webhook_secret_file"`
	BotUser           string `yaml:"bot_user"` // the account the token belongs to; its own comments are ignored
	// GitHub only, instead of a token: the GitHub App's id and PEM private
	// key (IMAGEBOT_GITHUB_APP_PRIVATE_KEY or app_private_key_file).
	AppID             int    `yaml:"app_id"`
	AppPrivateKey     string `yaml:"-" secret:"app_private_key"`
	AppPrivateKeyFile string `yaml:"app_private_key_file"`
}

// Enabled reports whether webhooks from this forge are accepted.
func (f Forge) Enabled() bool { return f.WebhookSecret != "" }

// UI locks the pages and API down. With a token every page, API call and
// /metrics (unless on metrics_listen) needs "Authorization: Bearer <token>";
// webhooks and /healthz, /readyz never do.
type UI struct {
	Token     string `yaml:"-" secret:"token"` // IMAGEBOT_UI_TOKEN
	TokenFile string `yaml:"token_file"`
	// PublicURL is how browsers reach the pages: links in comments, the
	// sign-in callback. Default public_url, or the ui_listen address.
	PublicURL string `yaml:"public_url"`
	// OAuth signs people in with the forge (bot/access); each sees the
	// builds of the repositories the forge lets them read.
	OAuth access.OAuthSettings `yaml:"oauth"`
}

// Trust says who may start builds.
type Trust struct {
	MinPermission string   `yaml:"min_permission"` // read, write (default), maintain, admin
	Allow         []string `yaml:"allow"`          // always trusted
	Deny          []string `yaml:"deny"`           // never trusted
	// MaxCommands is how many commands one comment may carry (0: 10);
	// duplicates are merged first, the rest refused with one line.
	MaxCommands int `yaml:"max_commands_per_comment"`
}

// Builds configures the bot's side of a build.
type Builds struct {
	WorkDir string `yaml:"work_dir"` // checkouts and build outputs; default <data_dir>/work
	Git     string `yaml:"git"`      // git binary; default: PATH
	// CheckoutRetention: a checkout no job used for this long is removed
	// (default 72h; it must exceed runner.max_timeout).
	CheckoutRetention time.Duration `yaml:"checkout_retention"`
}

// Report tunes the merge-request comment.
type Report struct {
	MinEditInterval time.Duration `yaml:"min_edit_interval"` // at most one edit per MR per interval
	LogTailLines    int           `yaml:"log_tail_lines"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json (default) or console
}

// Default is the embedded default: everything on this host under dataDir.
func Default() Config {
	work := true
	return Config{
		Listen:   "127.0.0.1:8080",
		DataDir:  ".imagebot",
		Database: Database{Driver: "sqlite", Synchronous: "normal"},
		Queue: Queue{
			EventWorkers: 4, ReportWorkers: 4, BuildWorkers: 1,
			Capabilities: []string{"kvm"}, RescueAfter: 3 * time.Hour,
			Heartbeat: 20 * time.Second, LostAfter: 2 * time.Minute,
			BatchWindow: 2 * time.Millisecond, Work: &work,
		},
		GitLab: Forge{BaseURL: "https://gitlab.com"},
		GitHub: Forge{BaseURL: "https://api.github.com"},
		Trust:  Trust{MinPermission: "write"},
		Report: Report{MinEditInterval: 5 * time.Second, LogTailLines: 30},
		Log:    Log{Level: "info", Format: "json"},
	}
}

// Load reads path (optional: "" means defaults only), applies IMAGEBOT_*
// environment variables from env (os.Environ() form), reads secret files and
// fills derived defaults.
func Load(path string, env []string) (Config, error) {
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w (secrets go in IMAGEBOT_* variables or *_file keys)", path, err)
		}
	}
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "IMAGEBOT_") {
			vars[k] = v
		}
	}
	if err := applyEnv(reflect.ValueOf(&c).Elem(), "IMAGEBOT", vars); err != nil {
		return c, err
	}
	if err := readSecretFiles(reflect.ValueOf(&c).Elem(), "IMAGEBOT"); err != nil {
		return c, err
	}
	c.fill()
	if err := c.lifecycle(vars); err != nil {
		return c, err
	}
	return c, c.validate()
}

func (c *Config) fill() {
	if c.Database.Path == "" {
		c.Database.Path = filepath.Join(c.DataDir, "imagebot.db")
	}
	if c.PublicURL == "" {
		c.derivedURL = true
		c.PublicURL = urlOf(c.Listen)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.Store.Local == nil && c.Store.S3 == nil {
		c.Store.Local = &store.LocalConfig{Dir: filepath.Join(c.DataDir, "artifacts")}
	}
	if c.Store.Local != nil && c.Store.Local.BaseURL == "" {
		c.Store.Local.BaseURL = c.PublicURL + "/download"
	}
	if c.UI.PublicURL == "" {
		c.uiDerived = true
		c.UI.PublicURL = c.PublicURL
		if c.UIListen != "" {
			c.UI.PublicURL = urlOf(c.UIListen)
		}
	}
	c.UI.PublicURL = strings.TrimRight(c.UI.PublicURL, "/")
	if c.Builds.WorkDir == "" {
		c.Builds.WorkDir = filepath.Join(c.DataDir, "work")
	}
	if c.Builds.CheckoutRetention <= 0 {
		c.Builds.CheckoutRetention = 72 * time.Hour
	}
	if c.Runner.WorkDir == "" {
		c.Runner.WorkDir = filepath.Join(c.DataDir, "runner")
	}
	if c.Runner.CacheDir == "" {
		c.Runner.CacheDir = filepath.Join(c.DataDir, "cache")
	}
	if c.VSphereEnabled() {
		v := c.VSphere
		c.Runner.VSphere = &v
	}
}

// VSphereEnabled reports whether a vCenter is configured (vsphere.url).
func (c Config) VSphereEnabled() bool { return c.VSphere.URL != "" }

func (c *Config) validate() error {
	switch c.Database.Driver {
	case "sqlite":
	case "postgres":
		if c.Database.URL == "" {
			return errors.New("config database: driver postgres needs IMAGEBOT_DATABASE_URL or database.url_file")
		}
	default:
		return fmt.Errorf("config database.driver: %q is not sqlite or postgres", c.Database.Driver)
	}
	switch c.Database.Synchronous {
	case "full", "normal":
	default:
		return fmt.Errorf("config database.synchronous: %q is not full or normal", c.Database.Synchronous)
	}
	if err := c.Store.Validate(); err != nil {
		return fmt.Errorf("config store: %w", err)
	}
	maxT := c.Runner.MaxTimeout
	if maxT <= 0 {
		maxT = 6 * time.Hour // the runner's default
	}
	if c.Builds.CheckoutRetention <= maxT {
		return fmt.Errorf("config builds.checkout_retention: %s must exceed the longest build (runner.max_timeout, default 6h): a running build's checkout would go", c.Builds.CheckoutRetention)
	}
	if q := c.Queue; q.LostAfter > 0 && q.LostAfter < 2*q.Heartbeat {
		return fmt.Errorf("config queue.lost_after: %s is less than two heartbeats (queue.heartbeat %s): live builds would be taken back", q.LostAfter, q.Heartbeat)
	}
	switch c.Trust.MinPermission {
	case "read", "write", "maintain", "admin":
	default:
		return fmt.Errorf("config trust.min_permission: %q is not read, write, maintain or admin", c.Trust.MinPermission)
	}
	if c.VSphereEnabled() {
		if err := c.VSphere.Check(); err != nil {
			return fmt.Errorf("config: %w", err)
		}
		if age := c.VSphere.LeftoverMaxAge; age > 0 && c.Runner.DefaultTimeout > 0 && age <= c.Runner.DefaultTimeout {
			return fmt.Errorf("config vsphere.leftover_max_age: %s must exceed the longest build timeout (runner.default_timeout %s)", age, c.Runner.DefaultTimeout)
		}
	}
	if c.Queue.EventWorkers < 1 || c.Queue.ReportWorkers < 1 || c.Queue.BuildWorkers < 0 {
		return errors.New("config queue: event_workers and report_workers must be at least 1, build_workers at least 0")
	}
	return nil
}

// Working reports whether this process works jobs (false: webhook intake only).
func (c Config) Working() bool { return c.Queue.Work == nil || *c.Queue.Work }

// SetListen changes the listen address (and the public URL when it was
// derived from the listen address).
func (c *Config) SetListen(addr string) {
	c.Listen = addr
	if c.derivedURL {
		c.PublicURL = urlOf(addr)
		if c.uiDerived && c.UIListen == "" {
			c.UI.PublicURL = c.PublicURL
		}
		if c.Store.Local != nil && strings.HasSuffix(c.Store.Local.BaseURL, "/download") {
			c.Store.Local.BaseURL = c.PublicURL + "/download"
		}
	}
}

func urlOf(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Secrets are the configured values that must never reach a log, comment,
// page or manifest: forge tokens and webhook secrets, the database URL, the
// vSphere password and the S3 credentials.
func (c Config) Secrets() []string {
	out := []string{c.GitLab.Token, c.GitLab.WebhookSecret, c.GitHub.Token, c.GitHub.WebhookSecret, c.Database.URL, c.VSphere.Password,
		c.UI.Token, c.UI.OAuth.ClientSecret}
	for _, cl := range c.API.Callers {
		out = append(out, cl.Token)
	}
	if c.Store.S3 != nil {
		if access, secret, err := c.Store.S3.Credentials(); err == nil {
			out = append(out, access, secret)
		}
	}
	return out
}
