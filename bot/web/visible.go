package web

import (
	"context"
	"net/http"
	"path"
	"strings"

	"github.com/imagebot/imagebot/runner/store"
)

// mayRead decides, before any page or file is made, whether the request's
// viewer may read what its path names: a download by the repository that
// owns its key, the root layout's image pages and API by the repository
// that owns the root (Options.Owner). The lists (/, /builds/, /images/,
// /api/images/) filter themselves; builds go through visibleBuilds.
func (s *Server) mayRead(r *http.Request) bool {
	if s.opts.Visible == nil {
		return true
	}
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/download/"):
		key := strings.TrimPrefix(p, "/download/")
		if path.Clean("/"+key) != "/"+key {
			return false // the key checked must be the key served
		}
		return s.visibleKey(r.Context(), key)
	case strings.HasPrefix(p, "/images/") && p != "/images/",
		strings.HasPrefix(p, "/api/images/") && p != "/api/images/":
		return s.visibleKey(r.Context(), "")
	}
	return true
}

// visibleKey says whether the viewer may read the repository owning key of
// the whole bucket ("" for the root layout); everyone may without sign-in.
// A key no repository owns is shown only to viewers who see every
// repository (the machine token).
func (s *Server) visibleKey(ctx context.Context, key string) bool {
	if s.opts.Visible == nil {
		return true
	}
	var forge, repo string
	if s.opts.Owner != nil {
		forge, repo, _ = s.opts.Owner(key)
	}
	return s.opts.Visible(ctx, forge, repo)
}

// visibleBuilds shows a viewer only the builds of repositories Visible
// allows (sign-in with the forge, bot/access): lists leave the others out,
// a build page, log or stream of another answers as an unknown build.
type visibleBuilds struct {
	Builds
	visible func(ctx context.Context, forge, repo string) bool
}

func (v visibleBuilds) Recent(ctx context.Context, limit int) ([]Build, error) {
	list, err := v.Builds.Recent(ctx, limit)
	if err != nil {
		return nil, err
	}
	shown := list[:0]
	for _, b := range list {
		if v.visible(ctx, b.Forge, b.Repo) {
			shown = append(shown, b)
		}
	}
	return shown, nil
}

func (v visibleBuilds) Build(ctx context.Context, id string) (Build, error) {
	b, err := v.Builds.Build(ctx, id)
	if err == nil && !v.visible(ctx, b.Forge, b.Repo) {
		return Build{}, ErrNotFound
	}
	return b, err
}

func (v visibleBuilds) Log(ctx context.Context, id string, offset int64) ([]byte, bool, error) {
	if _, err := v.Build(ctx, id); err != nil {
		return nil, false, err
	}
	return v.Builds.Log(ctx, id, offset)
}

// rootImages lists the images of this server's store, none when its
// viewer may not read the repository owning it.
func (s *Server) rootImages(ctx context.Context) ([]string, error) {
	if !s.visibleKey(ctx, "") {
		return nil, nil
	}
	return store.Images(ctx, s.opts.Store)
}
