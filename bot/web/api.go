package web

// The JSON build status API (was bot/server.go): the build list, one
// build, its full log, and its Server-Sent Events stream, written through
// the same stream writer as the pages (sse.go, ssewire.go).

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/state"
)

// LiveLog follows the log lines of a build running in this process
// (bot/builds.Tracker).
type LiveLog interface {
	Subscribe(id string) (<-chan string, func())
}

// API is the JSON build status API over the bot's build history.
type API struct {
	h       History
	live    LiveLog
	visible func(ctx context.Context, forge, repo string) bool
	poll    time.Duration
}

// NewAPI returns the API over h; live gives the new log lines of a
// running build; visible says whether the request's viewer may see builds
// of a repository (nil: everyone sees everything): the API lists only
// those and answers 404 for the others.
func NewAPI(h History, live LiveLog, visible func(ctx context.Context, forge, repo string) bool) *API {
	return &API{h: h, live: live, visible: visible, poll: 2 * time.Second}
}

func (a *API) shows(ctx context.Context, bd state.Build) bool {
	return a.visible == nil || a.visible(ctx, bd.Forge, bd.Repo)
}

// Mount adds the API's routes through mount (bot.Server.Mount).
func (a *API) Mount(mount func(pattern string, h http.Handler)) {
	mount("GET /api/builds", http.HandlerFunc(a.listBuilds))
	mount("GET /api/builds/{id}", http.HandlerFunc(a.getBuild))
	mount("GET /api/builds/{id}/log", http.HandlerFunc(a.buildLog))
	mount("GET /api/builds/{id}/events", http.HandlerFunc(a.buildEvents))
}

func writeAPIJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (a *API) listBuilds(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 && n <= 1000 {
		limit = n
	}
	bs, err := a.h.RecentBuilds(r.Context(), limit)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	shown := []state.Build{}
	for _, bd := range bs {
		if a.shows(r.Context(), bd) {
			shown = append(shown, bd)
		}
	}
	writeAPIJSON(w, shown)
}

func (a *API) lookup(w http.ResponseWriter, r *http.Request) (state.Build, bool) {
	bd, err := a.h.GetBuild(r.Context(), r.PathValue("id"))
	if err == nil && !a.shows(r.Context(), bd) {
		err = queue.ErrNoRows // not this viewer's to see: as if absent
	}
	if errors.Is(err, queue.ErrNoRows) {
		http.Error(w, "no such build", http.StatusNotFound)
		return bd, false
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return bd, false
	}
	return bd, true
}

func (a *API) getBuild(w http.ResponseWriter, r *http.Request) {
	if bd, ok := a.lookup(w, r); ok {
		writeAPIJSON(w, bd)
	}
}

// buildLog serves the full redacted log: the stored copy once published,
// the live file on this host while it runs.
func (a *API) buildLog(w http.ResponseWriter, r *http.Request) {
	bd, ok := a.lookup(w, r)
	if !ok {
		return
	}
	if bd.LogPath != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		http.ServeFile(w, r, bd.LogPath)
		return
	}
	if bd.LogURL != "" {
		http.Redirect(w, r, bd.LogURL, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(bd.LogTail))
}

// buildEvents streams a build as Server-Sent Events: "build" events carry
// the Build JSON whenever it changes, "log" events carry new log lines. The
// stream ends with the build.
func (a *API) buildEvents(w http.ResponseWriter, r *http.Request) {
	bd, ok := a.lookup(w, r)
	if !ok {
		return
	}
	ev, ok := startSSE(w) // splits on CR too: log text adds no field
	if !ok {
		return
	}
	sendBuild := func(bd state.Build) error {
		j, _ := json.Marshal(bd)
		return ev.send("build", "", string(j))
	}
	if sendBuild(bd) != nil {
		return
	}
	lines, stop := a.live.Subscribe(bd.ID)
	defer stop()
	tick := time.NewTicker(a.poll)
	defer tick.Stop()
	last := bd
	for !last.Done() {
		select {
		case <-r.Context().Done():
			return
		case l, ok := <-lines:
			if !ok {
				lines = nil
			} else if ev.send("log", "", l) != nil {
				return
			}
		case <-tick.C:
			cur, err := a.h.GetBuild(r.Context(), bd.ID)
			if err != nil {
				return
			}
			if cur.Status != last.Status || cur.Step != last.Step {
				if sendBuild(cur) != nil {
					return
				}
			}
			last = cur
		}
	}
	_ = sendBuild(last)
}
