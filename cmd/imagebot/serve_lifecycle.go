package main

import (
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/bot/web"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/withdraw"
)

// mountTrusted mounts the write API for trusted callers (bot/web.TrustedAPI)
// when api.callers names any: revocations withdraw content library items
// from the configured vCenter and notify through the bot's outbox.
func mountTrusted(srv *bot.Server, b *bot.Bot, cfg config.Config, st store.Store, log zerolog.Logger) {
	if len(cfg.API.Callers) == 0 {
		return
	}
	api := &web.TrustedAPI{Store: st, Policy: cfg.ChannelPolicy, Withdraw: cfg.Revocation,
		Notify: b.Notify, PageURL: cfg.PublicURL, Log: log.With().Str("api", "trusted").Logger()}
	for _, c := range cfg.API.Callers {
		api.Callers = append(api.Callers, web.Caller{Name: c.Name, Token: c.Token})
	}
	if cfg.VSphereEnabled() {
		api.Library = withdraw.VSphere{Config: cfg.VSphere}
	}
	for _, p := range web.TrustedRoutes {
		srv.Mount(p, api)
	}
}
