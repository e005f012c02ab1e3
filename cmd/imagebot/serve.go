package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/imagebot/imagebot/runner/attest"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/access"
	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/forge/github"
	"github.com/imagebot/imagebot/bot/forge/gitlab"
	"github.com/imagebot/imagebot/bot/trust"
	"github.com/imagebot/imagebot/bot/web"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/backend"
)

func init() {
	register(command{name: "serve", summary: "serve the webhook bot, its queue and its web page", run: runServe})
}

func runServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file (default .imagebot/config.yaml when present)")
	listen := fs.String("listen", "", "listen address (overrides listen:)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cfgPath == "" {
		if _, err := os.Stat(".imagebot/config.yaml"); err == nil {
			*cfgPath = ".imagebot/config.yaml"
		}
	}
	cfg, err := config.Load(*cfgPath, os.Environ())
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.SetListen(*listen)
	}
	log := newLogger(cfg.Log)
	if os.Getenv("GOGC") == "" {
		// A busy intake's live heap is a few MB: collecting at 25 % growth
		// keeps its resident size small at any webhook rate. A fixed soft
		// limit (20 MiB before) did that too, but near it the collector ran
		// without pause and held the intake under 3,000 webhooks/s
		// (docs/operations.md).
		debug.SetGCPercent(25)
	}
	deps, st, err := serveDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	b, err := bot.New(ctx, deps)
	if err != nil {
		return err
	}
	// Pages and API: behind sign-in with the forge (ui.oauth), else the
	// token (ui.token), else open.
	guard := access.TokenGuard(cfg.UI.Token)
	var visible func(ctx context.Context, forge, repo string) bool
	if cfg.UI.OAuth.Enabled() {
		login, err := access.NewLoginFrom(cfg.UI.OAuth, cfg.UI.PublicURL, cfg.UI.Token, log)
		if err != nil {
			b.Close(context.Background())
			return fmt.Errorf("config ui.oauth: %w", err)
		}
		guard, visible = login.Handler, login.Visible
	}
	srv := bot.NewServer(b)
	srv.Visible = visible
	if st != nil {
		// Each repository's images pages: /r/<name>/images/ (its store prefix).
		repoPages := web.NewRepoPages(web.RepoPagesOptions{Store: st, Config: cfg.Store, Visible: visible, Page: web.Options{Log: log}})
		srv.Mount("/r/", repoPages)
		page, err := web.New(web.Options{Store: st, Builds: b.WebBuilds(), Visible: visible, Owner: cfg.Store.OwnerOf, Repos: repoPages.Links, Log: log})
		if err != nil {
			b.Close(context.Background())
			return err
		}
		srv.Mount("/", page)
		mountTrusted(srv, b, cfg, st, log)
	}
	// One listener per address (bot/access): webhooks and health on listen,
	// pages/API on ui_listen, /metrics on metrics_listen when set.
	plan := access.PlanGuarded(srv, cfg.Listen, cfg.UIListen, cfg.MetricsListen, guard)
	lns, err := listenAll(plan)
	if err != nil {
		b.Close(context.Background())
		return err
	}
	if err := b.Start(ctx); err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		b.Close(context.Background())
		return err
	}
	if st != nil {
		// MR builds expire after storage.*.retention_days: swept here for a
		// local directory; an S3 bucket's lifecycle rule does it by itself.
		go backend.RunRetention(ctx, st, cfg.Store, time.Hour, log)
	}
	if cfg.VSphereEnabled() && cfg.Working() {
		// Leftovers of builds that crashed with their host; a build's own
		// machines are removed when it ends.
		go b.SweepVSphere(ctx, cfg.VSphere, time.Hour)
	}
	go b.SweepCheckouts(ctx, cfg.Builds.CheckoutRetention, time.Hour)
	log.Info().Str("listen", lns[0].Addr().String()).Str("ui_listen", cfg.UIListen).Str("metrics_listen", cfg.MetricsListen).
		Bool("ui_token", cfg.UI.Token != "").Str("database", cfg.Database.Driver).
		Str("gitlab_webhook", cfg.PublicURL+"/webhooks/gitlab").Str("github_webhook", cfg.PublicURL+"/webhooks/github").
		Str("page", cfg.UI.PublicURL+"/").Bool("sign_in", cfg.UI.OAuth.Enabled()).Msg("imagebot serving")
	servers := make([]*http.Server, len(plan))
	errc := make(chan error, len(plan))
	for i, l := range plan {
		servers[i] = newHTTPServer(l.Handler)
		go func(hs *http.Server, ln net.Listener) { errc <- hs.Serve(ln) }(servers[i], lns[i])
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down: running builds are re-queued for the next start")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, hs := range servers {
		_ = hs.Shutdown(sctx)
	}
	b.Close(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func newLogger(c config.Log) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		lvl = zerolog.InfoLevel
	}
	var l zerolog.Logger
	if c.Format == "console" {
		l = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr})
	} else {
		l = zerolog.New(os.Stderr)
	}
	return l.Level(lvl).With().Timestamp().Logger()
}

// serveDeps builds the bot's parts from the configuration: forges, trust,
// the runner on this host, the catalog loader and the artifact store.
func serveDeps(ctx context.Context, cfg config.Config, log zerolog.Logger) (bot.Deps, store.Store, error) {
	d := bot.Deps{Config: cfg, Log: log, Forges: map[string]forge.Forge{}}
	if err := addForges(cfg, log, d.Forges); err != nil {
		return d, nil, err
	}
	d.Trust = trust.Policy{MinPermission: permission(cfg.Trust.MinPermission), Allow: cfg.Trust.Allow, Deny: cfg.Trust.Deny}
	d.Catalog = func(ctx context.Context, root string) (*catalog.Catalog, error) {
		cat, diags := catalog.LoadContext(ctx, root)
		if diags.HasErrors() {
			return nil, diags.Err()
		}
		return cat, nil
	}
	st, err := openServeStore(ctx, cfg.Store, log)
	if err != nil {
		return d, nil, err
	}
	signer, err := attest.NewSigner(cfg.Provenance)
	if err != nil {
		return d, nil, fmt.Errorf("provenance: %w", err)
	}
	// Every repository publishes and releases below its own key prefix
	// (store.repositories, or derived from forge and path): see docs/storage.md.
	pub := &bot.StorePublisher{Store: st, Log: log, Secrets: cfg.Secrets, RepoPrefix: cfg.Store.RepoPrefix}
	d.RepoPrefix = cfg.Store.RepoPrefix
	if signer != nil { // a nil *Signer in the interface would look configured
		pub.Attester, d.Attester = signer, signer
	}
	d.Publish = pub
	d.Store = st // pushes to the default branch release (bot/release)
	if cfg.Working() && cfg.Queue.BuildWorkers > 0 {
		wd, _ := os.Getwd()
		rc := cfg.Runner.Config(wd)
		rc.Log = log
		rc.Bases = store.BaseGuard{Store: st}       // a revoked base fails the build, naming the revocation
		rc.BaseStore = store.BaseFetcher{Store: st} // a base missing here comes from its release: the fleet shares bases
		rc.Secrets = withBotSecrets(rc.Secrets, cfg)
		// The bot puts each build's outputs in <builds.work_dir>/out/<build>:
		// the runner's retention sweep removes old ones.
		rc.OutRoot = filepath.Join(cfg.Builds.WorkDir, "out")
		if !filepath.IsAbs(rc.OutRoot) {
			rc.OutRoot = filepath.Join(wd, rc.OutRoot)
		}
		if rc.Packer, err = packer.Locate(cfg.Runner.Packer, wd); err != nil {
			log.Warn().Err(err).Msg("no packer: this imagebot accepts webhooks but builds nothing (run deploy/install-tools.sh)")
		} else if r, err := runner.New(rc); err != nil {
			return d, nil, err
		} else {
			d.Builder = r
		}
	}
	return d, st, nil
}

func addForges(cfg config.Config, log zerolog.Logger, out map[string]forge.Forge) error {
	if cfg.GitLab.Enabled() {
		if cfg.GitLab.Token == "" {
			log.Warn().Msg("gitlab: webhook secret set but no token (IMAGEBOT_GITLAB_TOKEN): cannot reach the forge until configured")
		} else {
			g, err := gitlab.New(gitlab.Config{BaseURL: cfg.GitLab.BaseURL, Token: cfg.GitLab.Token,
				WebhookSecret: cfg.GitLab.WebhookSecret, BotUser: cfg.GitLab.BotUser, Log: log})
			if err != nil {
				return err
			}
			out[g.Name()] = g
		}
	}
	return addGitHub(cfg, log, out)
}

func addGitHub(cfg config.Config, log zerolog.Logger, out map[string]forge.Forge) error {
	if !cfg.GitHub.Enabled() {
		return nil
	}
	if cfg.GitHub.Token == "" && cfg.GitHub.AppID == 0 {
		log.Warn().Msg("github: webhook secret set but no token (IMAGEBOT_GITHUB_TOKEN): cannot reach the forge until configured")
		return nil
	}
	base := cfg.GitHub.BaseURL
	if base == "https://api.github.com" {
		base = ""
	}
	var app *github.AppConfig
	if cfg.GitHub.AppID != 0 {
		app = &github.AppConfig{ID: int64(cfg.GitHub.AppID), PrivateKey: []byte(cfg.GitHub.AppPrivateKey)}
	}
	g, err := github.New(github.Config{BaseURL: base, Token: cfg.GitHub.Token, App: app, WebhookSecret: cfg.GitHub.WebhookSecret,
		BotUser: cfg.GitHub.BotUser, Log: log})
	if err != nil {
		return err
	}
	out[g.Name()] = g
	return nil
}

func permission(name string) forge.Permission {
	switch name {
	case "read":
		return forge.PermissionRead
	case "maintain":
		return forge.PermissionMaintain
	case "admin":
		return forge.PermissionAdmin
	}
	return forge.PermissionWrite
}

func openServeStore(ctx context.Context, c store.Config, log zerolog.Logger) (store.Store, error) {
	if c.Local != nil {
		abs, err := filepath.Abs(c.Local.Dir)
		if err != nil {
			return nil, err
		}
		lc := *c.Local
		lc.Dir = abs
		c.Local = &lc
		if err := os.MkdirAll(abs, 0o750); err != nil {
			return nil, fmt.Errorf("artifact directory: %w", err)
		}
	}
	st, err := backend.Open(ctx, c, &log)
	if err != nil {
		return nil, fmt.Errorf("open the artifact store (%s): %w", backend.Describe(c), err)
	}
	return st, nil
}

// withBotSecrets adds the bot's own secrets (forge tokens, webhook secrets,
// database URL, store keys) to the runner's, so its redactor masks them in
// build logs and events whatever their variable is called.
func withBotSecrets(secrets map[string]string, cfg config.Config) map[string]string {
	out := map[string]string{}
	for k, v := range secrets {
		out[k] = v
	}
	add := func(name, v string) {
		if v != "" {
			out["imagebot."+name] = v
		}
	}
	add("gitlab.token", cfg.GitLab.Token)
	add("gitlab.webhook_secret", cfg.GitLab.WebhookSecret)
	add("github.token", cfg.GitHub.Token)
	add("github.webhook_secret", cfg.GitHub.WebhookSecret)
	add("database.url", cfg.Database.URL)
	add("vsphere.password", cfg.VSphere.Password)
	if cfg.Store.S3 != nil {
		if access, secret, err := cfg.Store.S3.Credentials(); err == nil {
			add("store.s3.access_key", access)
			add("store.s3.secret_key", secret)
		}
	}
	return out
}

// newHTTPServer bounds what a slow or stalled client can hold (issue 11
// item 2); event streams lift the read/write timeouts for themselves
// (bot/sse.Unbound).
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

// listenAll opens every planned address, closing those opened on failure.
func listenAll(plan []access.Listener) ([]net.Listener, error) {
	var lns []net.Listener
	for _, l := range plan {
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			for _, o := range lns {
				o.Close()
			}
			return nil, fmt.Errorf("listen %s: %w", l.Addr, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}
