package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/config"
)

func init() {
	register(command{name: "runner", summary: "work build jobs from the shared PostgreSQL queue on this host", run: runRunner})
}

// runRunner is a build host of a fleet: it takes build jobs of its
// capabilities (River queues build_kvm, build_vsphere) from the database the
// `imagebot serve` replicas share, builds, publishes and records; the serve
// replicas report. It answers /healthz, /readyz and /metrics on --listen.
func runRunner(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("runner", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "configuration file (default .imagebot/config.yaml when present)")
	caps := fs.String("capabilities", "", "comma-separated build capabilities, e.g. kvm,vsphere (overrides queue.capabilities)")
	listen := fs.String("listen", "127.0.0.1:9090", "address for /healthz, /readyz and /metrics (empty: none)")
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
	if *caps != "" {
		cfg.Queue.Capabilities = strings.Split(*caps, ",")
	}
	if cfg.Database.Driver != "postgres" {
		return fmt.Errorf("%w: imagebot runner shares the bot's PostgreSQL queue (database.driver postgres); with the embedded SQLite database, imagebot serve builds itself", errUsage)
	}
	if cfg.Queue.BuildWorkers < 1 {
		cfg.Queue.BuildWorkers = 1
	}
	log := newLogger(cfg.Log)
	deps, _, err := serveDeps(ctx, cfg, log)
	if err != nil {
		return err
	}
	if deps.Builder == nil {
		return errors.New("runner: no packer on this host (run deploy/install-tools.sh)")
	}
	deps.BuildsOnly = true
	b, err := bot.New(ctx, deps)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b.Close(sctx)
	}()
	if err := b.Start(ctx); err != nil {
		return err
	}
	go b.SweepCheckouts(ctx, cfg.Builds.CheckoutRetention, time.Hour) // build hosts check out too
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return fmt.Errorf("listen %s: %w", *listen, err)
		}
		hs := &http.Server{Handler: b.HealthHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		defer hs.Close()
	}
	log.Info().Strs("capabilities", cfg.Queue.Capabilities).Int("slots", cfg.Queue.BuildWorkers).Msg("imagebot runner working build jobs")
	<-ctx.Done()
	log.Info().Msg("runner stopping: running builds are re-queued")
	return nil
}
