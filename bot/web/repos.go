package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/imagebot/imagebot/runner/store"
)

// RepoLink is a repository's images pages, as the images page lists them.
type RepoLink struct {
	Label string // "gitlab:group/project"
	URL   string // "/r/<name>/images/"
}

// RepoPagesOptions configure RepoPages.
type RepoPagesOptions struct {
	Store  store.Store  // the whole bucket
	Config store.Config // its repositories (RepoOf)
	// Visible, when set, says whether the request's viewer may read a
	// repository (bot/access Login.Visible); others answer 404.
	Visible func(ctx context.Context, forge, repo string) bool
	Page    Options // the rest of each repository's pages' options
}

// RepoPages serves, below /r/<name>/, the /images pages of the repository
// whose store prefix is _repo/<name>/ (runner/store RepoStore): one page
// server per repository, made when first asked for.
type RepoPages struct {
	opts    RepoPagesOptions
	mu      sync.Mutex
	servers map[string]*Server
}

// NewRepoPages returns the handler to mount at /r/.
func NewRepoPages(opts RepoPagesOptions) *RepoPages {
	return &RepoPages{opts: opts, servers: map[string]*Server{}}
}

func (p *RepoPages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/r/"), "/")
	forge, path, ok := p.opts.Config.RepoOf(name)
	if !ok || !strings.HasPrefix("/"+rest, "/images/") || (p.opts.Visible != nil && !p.opts.Visible(r.Context(), forge, path)) {
		http.NotFound(w, r)
		return
	}
	s, err := p.server(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, "the pages could not be made", http.StatusInternalServerError)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + rest
	r2.URL.RawPath = ""
	s.ServeHTTP(w, r2)
}

// server returns the pages of repository name, made once it is known to
// hold builds (a name from a URL must not grow the map).
func (p *RepoPages) server(ctx context.Context, name string) (*Server, error) {
	p.mu.Lock()
	s := p.servers[name]
	p.mu.Unlock()
	if s != nil {
		return s, nil
	}
	prefixes, err := store.RepoPrefixes(ctx, p.opts.Store)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(prefixes, "_repo/"+name+"/") {
		return nil, store.ErrNotFound
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.servers[name]; s != nil {
		return s, nil
	}
	o := p.opts.Page
	o.Store = store.RepoStore(p.opts.Store, "_repo/"+name+"/")
	o.Base = "/r/" + name
	o.Repos = nil
	s, err = New(o)
	if err != nil {
		return nil, err
	}
	p.servers[name] = s
	return s, nil
}

// Links lists the repositories present in the bucket that the viewer may
// read, for the images page.
func (p *RepoPages) Links(ctx context.Context) []RepoLink {
	prefixes, err := store.RepoPrefixes(ctx, p.opts.Store)
	if err != nil {
		return nil
	}
	var out []RepoLink
	for _, pre := range prefixes {
		name := strings.TrimSuffix(strings.TrimPrefix(pre, "_repo/"), "/")
		forge, path, ok := p.opts.Config.RepoOf(name)
		if !ok || (p.opts.Visible != nil && !p.opts.Visible(ctx, forge, path)) {
			continue
		}
		out = append(out, RepoLink{Label: forge + ":" + path, URL: "/r/" + name + "/images/"})
	}
	return out
}

// ImagesBase is where the images pages of repo on forge live ("" for the
// root layout), for links from build pages.
func ImagesBase(prefix func(forge, repo string) (string, error), forge, repo string) string {
	if prefix == nil {
		return ""
	}
	pre, err := prefix(forge, repo)
	if err != nil || pre == "" {
		return ""
	}
	return "/r/" + strings.TrimSuffix(strings.TrimPrefix(pre, "_repo/"), "/")
}
