package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/imagebot/imagebot/bot/queue"
	"github.com/imagebot/imagebot/bot/sse"
)

// Server is imagebot's HTTP surface: webhooks, health, metrics, the build
// status API, and whatever the web pages mount.
type Server struct {
	b   *Bot
	mux *http.ServeMux
	mu  sync.Mutex
	set map[string]bool
	// Visible, when set, says whether the request's viewer may see builds
	// of a repository (bot/access Login.Visible): the API lists only those
	// and answers 404 for the others.
	Visible func(ctx context.Context, forge, repo string) bool
}

func (s *Server) visible(ctx context.Context, bd Build) bool {
	return s.Visible == nil || s.Visible(ctx, bd.Forge, bd.Repo)
}

// NewServer returns the HTTP server's handler for b.
func NewServer(b *Bot) *Server {
	s := &Server{b: b, mux: http.NewServeMux(), set: map[string]bool{}}
	s.Mount("POST /webhooks/{forge}", b.intake.Handler())
	s.Mount("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	}))
	s.Mount("GET /readyz", http.HandlerFunc(s.readyz))
	s.Mount("GET /metrics", promhttp.HandlerFor(b.metrics.reg, promhttp.HandlerOpts{}))
	s.Mount("GET /api/builds", http.HandlerFunc(s.listBuilds))
	s.Mount("GET /api/builds/{id}", http.HandlerFunc(s.getBuild))
	s.Mount("GET /api/builds/{id}/log", http.HandlerFunc(s.buildLog))
	s.Mount("GET /api/builds/{id}/events", http.HandlerFunc(s.buildEvents))
	return s
}

// Mount adds a handler for a ServeMux pattern ("GET /builds/{id}", "/").
// The web pages use it; mounting "/" serves everything not matched above.
func (s *Server) Mount(pattern string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set[pattern] {
		panic("bot: pattern mounted twice: " + pattern) // a programming error at start-up
	}
	s.set[pattern] = true
	s.mux.Handle(pattern, h)
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.b.q.Ping(ctx); err != nil {
		http.Error(w, "database unreachable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Server) listBuilds(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 && n <= 1000 {
		limit = n
	}
	bs, err := s.b.RecentBuilds(r.Context(), limit)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	shown := []Build{}
	for _, bd := range bs {
		if s.visible(r.Context(), bd) {
			shown = append(shown, bd)
		}
	}
	writeJSON(w, shown)
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (Build, bool) {
	bd, err := s.b.GetBuild(r.Context(), r.PathValue("id"))
	if err == nil && !s.visible(r.Context(), bd) {
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

func (s *Server) getBuild(w http.ResponseWriter, r *http.Request) {
	if bd, ok := s.lookup(w, r); ok {
		writeJSON(w, bd)
	}
}

// buildLog serves the full redacted log: the stored copy once published,
// the live file on this host while it runs.
func (s *Server) buildLog(w http.ResponseWriter, r *http.Request) {
	bd, ok := s.lookup(w, r)
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
func (s *Server) buildEvents(w http.ResponseWriter, r *http.Request) {
	bd, ok := s.lookup(w, r)
	if !ok {
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	sse.Unbound(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	send := func(event, data string) { // bot/sse splits on CR too: log text adds no field
		_ = sse.Write(w, event, "", data)
		fl.Flush()
	}
	sendBuild := func(bd Build) {
		j, _ := json.Marshal(bd)
		send("build", string(j))
	}
	sendBuild(bd)
	lines, stop := s.b.builds.Running().Subscribe(bd.ID)
	defer stop()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	last := bd
	for !last.Done() {
		select {
		case <-r.Context().Done():
			return
		case l, ok := <-lines:
			if ok {
				send("log", l)
			} else {
				lines = nil
			}
		case <-tick.C:
			cur, err := s.b.GetBuild(r.Context(), bd.ID)
			if err != nil {
				return
			}
			if cur.Status != last.Status || cur.Step != last.Step {
				sendBuild(cur)
			}
			last = cur
		}
	}
	sendBuild(last)
}

// HealthHandler serves only /healthz, /readyz and /metrics (imagebot runner).
func (b *Bot) HealthHandler() http.Handler {
	s := &Server{b: b}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(b.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}
