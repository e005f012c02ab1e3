package bot

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/imagebot/imagebot/bot/web"
)

// Server is imagebot's HTTP surface: webhooks, health, metrics, the build
// status API (bot/web), and whatever the web pages mount.
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

func (s *Server) visible(ctx context.Context, forge, repo string) bool {
	return s.Visible == nil || s.Visible(ctx, forge, repo)
}

// NewServer returns the HTTP server's handler for b.
func NewServer(b *Bot) *Server {
	s := &Server{b: b, mux: http.NewServeMux(), set: map[string]bool{}}
	s.Mount("POST /webhooks/{forge}", b.intake.Handler())
	s.Mount("GET /healthz", http.HandlerFunc(healthz))
	s.Mount("GET /readyz", http.HandlerFunc(b.readyz))
	s.Mount("GET /metrics", promhttp.HandlerFor(b.metrics.reg, promhttp.HandlerOpts{}))
	web.NewAPI(b, b.builds.Running(), s.visible).Mount(s.Mount)
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

func healthz(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }

func (b *Bot) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := b.q.Ping(ctx); err != nil {
		http.Error(w, "database unreachable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// HealthHandler serves only /healthz, /readyz and /metrics (imagebot runner).
func (b *Bot) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", b.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(b.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}
