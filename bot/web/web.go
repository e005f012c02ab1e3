// Package web owns imagebot's web page: server-rendered HTML (html/template,
// embedded CSS, no front-end build) readable on a phone. It shows recent
// builds with live status, a build's step timeline and its redacted log
// streaming live over Server-Sent Events, the image catalog, each image's
// versions (releases first, then MR builds) and each version's files with
// size, sha256, download links, manifest and build log. The bot mounts
// Handler; builds come through the Builds interface (NewBuilds, builds.go,
// reads the bot's build history), artifacts from the store.
package web

import (
	"context"
	"embed"
	"errors"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/store"
)

//go:embed assets templates
var files embed.FS

// ErrNotFound is what Builds returns for an unknown build id.
var ErrNotFound = errors.New("build not found")

// Build is what the page shows of one build. The bot fills it from its queue.
type Build struct {
	ID      string
	Image   string
	Version string
	Kind    string // "mr" or "release"
	MR      int
	SHA     string
	Forge   string // "gitlab", "github"
	// ImagesBase is where the pages of the build's repository's images
	// live: "" (the root layout) or "/r/<repository>" (see RepoPages).
	ImagesBase string
	Repo       string // "group/project"
	MRURL      string // link to the merge request, if any
	Status     string // queued, running, succeeded, failed, cancelled, timed_out, interrupted
	Step       string // the current or last step
	Steps      []Step
	Queued     time.Time
	Started    time.Time
	Finished   time.Time
	Error      string // redacted
	// Artifact is the published version's name ("1.2.0", "mr12-1a2b3c4d")
	// once the build is published; the page links to it.
	Artifact    string
	TriggeredBy string
	// Found is what the finished build found in its image; nil when
	// nothing was recorded (running, or an older build).
	Found *Found
}

// Step is one step of a build's timeline.
type Step struct {
	Name     string
	Started  time.Time
	Finished time.Time // zero while it runs
	Failed   bool
}

// Done reports whether the build has ended.
func (b Build) Done() bool {
	switch b.Status {
	case "queued", "running", "":
		return false
	}
	return true
}

// Builds is the bot's build history, as the page needs it.
type Builds interface {
	// Recent returns the newest builds first, at most limit.
	Recent(ctx context.Context, limit int) ([]Build, error)
	// Build returns one build, or ErrNotFound.
	Build(ctx context.Context, id string) (Build, error)
	// Log returns the build's log after offset, as the runner wrote it
	// through its redactor, and whether the build has ended (then nothing
	// follows what was returned).
	Log(ctx context.Context, id string, offset int64) ([]byte, bool, error)
}

// Options configure the handler.
type Options struct {
	Store  store.Store
	Builds Builds // nil: the builds pages say there is no build history
	// Visible, when set, limits the builds a request's viewer sees to the
	// repositories it allows (bot/access Login.Visible).
	Visible func(ctx context.Context, forge, repo string) bool
	// Owner names the repository a key of the whole bucket belongs to
	// (runner/store Config.OwnerOf); with Visible, the root layout's image
	// pages and /download/ answer 404 to a viewer who may not read it.
	Owner func(key string) (forge, repo string, ok bool)
	// Base is where this server's /images pages are mounted: "" or
	// "/r/<repository>" for one repository's store (RepoPages).
	Base string
	// Repos, when set, lists the repositories whose pages the images
	// page links to (RepoPages).
	Repos func(ctx context.Context) []RepoLink
	// Catalog, when set, gives image descriptions and images not yet built.
	Catalog func() *catalog.Catalog
	// Poll is how often live pages look for news; default 500ms.
	Poll time.Duration
	// URLExpiry is how long presigned download links last; default 1h.
	URLExpiry time.Duration
	Log       zerolog.Logger
}

// Server serves the page. Build it with New; it is an http.Handler.
type Server struct {
	opts Options
	mux  *http.ServeMux
	tmpl *templates
}

// New returns the page's handler. Mount it at "/" (it serves /, /builds/,
// /images/ with each version's packages and an image's diff, /download/
// and /static/).
func New(opts Options) (*Server, error) {
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.URLExpiry <= 0 {
		opts.URLExpiry = time.Hour
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	if opts.Builds != nil && opts.Visible != nil {
		opts.Builds = visibleBuilds{Builds: opts.Builds, visible: opts.Visible}
	}
	s := &Server{opts: opts, mux: http.NewServeMux(), tmpl: t}
	s.routes()
	if err := s.inspectRoutes(); err != nil { // packages and diff pages (inspect.go)
		return nil, err
	}
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.mayRead(r) { // visible.go
		http.NotFound(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.builds)
	m.HandleFunc("GET /builds/{$}", s.builds)
	m.HandleFunc("GET /builds/events", s.buildsEvents)
	m.HandleFunc("GET /builds/{id}", s.build)
	m.HandleFunc("GET /builds/{id}/log", s.buildLog)
	m.HandleFunc("GET /builds/{id}/events", s.buildEvents)
	m.HandleFunc("GET /images/{$}", s.images)
	m.HandleFunc("GET /images/{name}", s.image)
	m.HandleFunc("GET /images/{name}/latest", s.latest)
	m.HandleFunc("GET /images/{name}/{version}", s.version)
	m.HandleFunc("GET /images/{name}/{version}/{file}", s.versionFile)
	// A local store's URL points here; an S3 store's are presigned.
	m.Handle("/download/", http.StripPrefix("/download/", store.Handler(s.opts.Store)))
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(mustSub("assets"))))
	s.lifecycleRoutes() // lifecycle.go
}
