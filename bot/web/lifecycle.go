package web

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"

	"github.com/imagebot/imagebot/runner/cascade"
	"github.com/imagebot/imagebot/runner/store"
)

// lifecycle is what the image page and GET /api/images/{name} show of an
// image beyond its files: its revoked releases, its channels, whether its
// latest release is built on an outdated base and which of its children
// are (runner/cascade).
type lifecycle struct {
	Image    string                      `json:"image"`
	Latest   string                      `json:"latest,omitempty"` // newest non-revoked release
	Revoked  map[string]store.Revocation `json:"revoked"`          // by version
	Channels []store.Channel             `json:"channels"`
	// Outdated is set when the latest release is built on an older base
	// release than the base's latest.
	Outdated *cascade.Outdated `json:"outdated,omitempty"`
	// OutdatedChildren are the images built on this one that are outdated.
	OutdatedChildren []cascade.Outdated `json:"outdated_children"`
}

// RevokedVersions lists the revoked versions, newest first by name.
func (l lifecycle) RevokedVersions() []store.Revocation {
	out := make([]store.Revocation, 0, len(l.Revoked))
	for _, r := range l.Revoked {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	return out
}

// lifecycleOf reads image's lifecycle; outdated is cascade.Check's answer.
func (s *Server) lifecycleOf(ctx context.Context, image string, outdated []cascade.Outdated) (lifecycle, error) {
	l := lifecycle{Image: image, OutdatedChildren: cascade.Children(outdated, image)}
	var err error
	if l.Revoked, err = store.Revocations(ctx, s.opts.Store, image); err != nil {
		return l, err
	}
	if l.Channels, err = store.Channels(ctx, s.opts.Store, image); err != nil {
		return l, err
	}
	if o, ok := cascade.ByImage(outdated)[image]; ok {
		l.Outdated = &o
	}
	if ref, err := store.Latest(ctx, s.opts.Store, image); err == nil {
		l.Latest = ref.Version
	}
	if l.Channels == nil {
		l.Channels = []store.Channel{}
	}
	if l.OutdatedChildren == nil {
		l.OutdatedChildren = []cascade.Outdated{}
	}
	return l, nil
}

// lifecycleRoutes adds the read-only lifecycle API beside the pages.
func (s *Server) lifecycleRoutes() {
	s.mux.HandleFunc("GET /api/images/{$}", s.apiImages)
	s.mux.HandleFunc("GET /api/images/{name}", s.apiImage)
}

func (s *Server) apiImages(w http.ResponseWriter, r *http.Request) {
	names, err := s.rootImages(r.Context())
	if err != nil {
		s.apiFailed(w, err)
		return
	}
	outdated, err := cascade.Check(r.Context(), s.opts.Store)
	if err != nil {
		s.apiFailed(w, err)
		return
	}
	out := make([]lifecycle, 0, len(names))
	for _, n := range names {
		l, err := s.lifecycleOf(r.Context(), n, outdated)
		if err != nil {
			s.apiFailed(w, err)
			return
		}
		out = append(out, l)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiImage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	builds, err := store.Builds(r.Context(), s.opts.Store, name)
	if err != nil || len(builds) == 0 {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "nothing has been published for image " + name})
		return
	}
	outdated, err := cascade.Check(r.Context(), s.opts.Store)
	if err != nil {
		s.apiFailed(w, err)
		return
	}
	l, err := s.lifecycleOf(r.Context(), name, outdated)
	if err != nil {
		s.apiFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Server) apiFailed(w http.ResponseWriter, err error) {
	s.opts.Log.Error().Err(err).Msg("lifecycle API: read the artifact store")
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the artifact store could not be read"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// pageLifecycle is the image page's lifecycle (nil when it cannot be read:
// the page still shows the files, and the error is logged).
func (s *Server) pageLifecycle(ctx context.Context, image string) *lifecycle {
	outdated, err := cascade.Check(ctx, s.opts.Store)
	if err == nil {
		var l lifecycle
		if l, err = s.lifecycleOf(ctx, image, outdated); err == nil {
			return &l
		}
	}
	s.opts.Log.Warn().Err(err).Str("image", image).Msg("read the image's revocations, channels and base state")
	return nil
}

// markOutdated flags the catalog page's rows whose latest release is outdated.
func (s *Server) markOutdated(ctx context.Context, rows map[string]*imageRow) {
	outdated, err := cascade.Check(ctx, s.opts.Store)
	if err != nil {
		s.opts.Log.Warn().Err(err).Msg("check which images are outdated")
		return
	}
	for _, o := range outdated {
		if row := rows[o.Image]; row != nil {
			o := o
			row.Outdated = &o
		}
	}
}

// revocationOf is the revocation of a release shown on its page (nil: none).
func (s *Server) revocationOf(ctx context.Context, ref store.Ref) *store.Revocation {
	if ref.Kind != store.KindRelease {
		return nil
	}
	r, err := store.ReadRevocation(ctx, s.opts.Store, ref.Image, ref.Version)
	if err != nil {
		s.opts.Log.Warn().Err(err).Stringer("release", ref).Msg("read the release's revocation")
	}
	return r
}
