package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/imagebot/imagebot/runner/cascade"
	"github.com/imagebot/imagebot/runner/store"
)

const recentLimit = 50

func (s *Server) builds(w http.ResponseWriter, r *http.Request) {
	var list []Build
	if s.opts.Builds != nil {
		var err error
		if list, err = s.opts.Builds.Recent(r.Context(), recentLimit); err != nil {
			s.opts.Log.Error().Err(err).Msg("list recent builds")
			s.fail(w, r, http.StatusServiceUnavailable, "The build history could not be read. Try again in a moment.")
			return
		}
	}
	s.render(w, r, http.StatusOK, "builds", page{Title: "Builds", Nav: "builds", Data: map[string]any{
		"Builds": list, "HasHistory": s.opts.Builds != nil,
	}})
}

func (s *Server) build(w http.ResponseWriter, r *http.Request) {
	b, ok := s.lookupBuild(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "build", page{Title: b.Image + " build " + b.ID, Nav: "builds", Data: b})
}

func (s *Server) lookupBuild(w http.ResponseWriter, r *http.Request) (Build, bool) {
	if s.opts.Builds == nil {
		s.fail(w, r, http.StatusNotFound, "This imagebot keeps no build history.")
		return Build{}, false
	}
	id := r.PathValue("id")
	b, err := s.opts.Builds.Build(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("There is no build %q.", id))
		return Build{}, false
	}
	if err != nil {
		s.opts.Log.Error().Err(err).Str("build", id).Msg("read build")
		s.fail(w, r, http.StatusServiceUnavailable, "The build could not be read. Try again in a moment.")
		return Build{}, false
	}
	return b, true
}

// buildLog serves the whole (redacted) log as it is now, as plain text.
func (s *Server) buildLog(w http.ResponseWriter, r *http.Request) {
	b, ok := s.lookupBuild(w, r)
	if !ok {
		return
	}
	data, _, err := s.opts.Builds.Log(r.Context(), b.ID, 0)
	if err != nil {
		s.opts.Log.Error().Err(err).Str("build", b.ID).Msg("read build log")
		http.Error(w, "the log could not be read", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(data)
}

// imageRow is one image of the catalog page.
type imageRow struct {
	Name        string
	Description string
	Latest      *store.Version
	Releases    int
	MRBuilds    int
	Outdated    *cascade.Outdated // lifecycle.go
}

func (s *Server) images(w http.ResponseWriter, r *http.Request) {
	names, err := s.rootImages(r.Context())
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	rows := map[string]*imageRow{}
	for _, n := range names {
		rows[n] = &imageRow{Name: n}
	}
	if s.opts.Catalog != nil && s.visibleKey(r.Context(), "") {
		if cat := s.opts.Catalog(); cat != nil {
			for n, img := range cat.Images {
				if rows[n] == nil {
					rows[n] = &imageRow{Name: n}
				}
				rows[n].Description = img.Env.Description
			}
		}
	}
	for _, n := range names {
		vs, err := store.Versions(r.Context(), s.opts.Store, n)
		if err != nil {
			s.storeFailed(w, r, err)
			return
		}
		row := rows[n]
		for i := range vs {
			if vs[i].Kind == store.KindRelease {
				row.Releases++
				if row.Latest == nil {
					row.Latest = &vs[i]
				}
			} else {
				row.MRBuilds++
			}
		}
	}
	s.markOutdated(r.Context(), rows)
	list := make([]*imageRow, 0, len(rows))
	for _, row := range rows {
		list = append(list, row)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	var repos []RepoLink
	if s.opts.Repos != nil {
		repos = s.opts.Repos(r.Context())
	}
	s.render(w, r, http.StatusOK, "images", page{Title: "Images", Nav: "images", Data: map[string]any{"Images": list, "Repos": repos}})
}

func (s *Server) image(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	vs, err := store.Versions(r.Context(), s.opts.Store, name)
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	if len(vs) == 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("Nothing has been published for image %q yet.", name))
		return
	}
	var rel, mr []store.Version
	for _, v := range vs {
		if v.Kind == store.KindRelease {
			rel = append(rel, v)
		} else {
			mr = append(mr, v)
		}
	}
	s.render(w, r, http.StatusOK, "image", page{Title: name, Nav: "images", Data: map[string]any{
		"Name": name, "Releases": rel, "MRBuilds": mr, "Life": s.pageLifecycle(r.Context(), name),
	}})
}

// latest always redirects to the newest release, never caching the answer.
func (s *Server) latest(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	v, err := store.ResolveVersion(r.Context(), s.opts.Store, name, store.LatestName)
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/images/"+name+"/"+v.Name(), http.StatusFound)
}

// fileRow is one file of a version page.
type fileRow struct {
	Name, Format, SHA256, URL string
	Size                      int64
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	v, ok := s.resolve(w, r)
	if !ok {
		return
	}
	var artifacts, other []fileRow
	listed := map[string]bool{}
	if v.Manifest != nil {
		for _, f := range v.Manifest.Files {
			listed[f.Name] = true
			u, err := s.opts.Store.URL(r.Context(), v.Prefix+f.Name, s.opts.URLExpiry)
			if err != nil {
				s.storeFailed(w, r, err)
				return
			}
			artifacts = append(artifacts, fileRow{Name: f.Name, Format: f.Format, Size: f.Size, SHA256: f.SHA256, URL: u})
		}
	}
	for _, o := range v.Files {
		name := path.Base(o.Key)
		if listed[name] {
			continue
		}
		other = append(other, fileRow{Name: name, Size: o.Size, URL: "/images/" + v.Image + "/" + v.Name() + "/" + name})
	}
	var manifest string
	if v.Manifest != nil {
		manifest = string(v.Manifest.Raw)
	}
	s.render(w, r, http.StatusOK, "version", page{Title: v.Image + " " + v.Name(), Nav: "images", Data: map[string]any{
		"V": v, "Artifacts": artifacts, "Other": other, "Manifest": manifest, "Revoked": s.revocationOf(r.Context(), v.Ref),
	}})
}

// versionFile serves a version's manifest, log and checksum files as text
// in the browser, and sends artifacts to their download address.
func (s *Server) versionFile(w http.ResponseWriter, r *http.Request) {
	v, ok := s.resolve(w, r)
	if !ok {
		return
	}
	name := r.PathValue("file")
	if _, ok := v.File(name); !ok {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("%s %s has no file %q.", v.Image, v.Name(), name))
		return
	}
	key := v.Prefix + name
	switch {
	case name == store.ManifestName:
		s.stream(w, r, key, "application/json; charset=utf-8")
	case name == store.LogName, strings.HasSuffix(name, store.SHA256Suffix):
		s.stream(w, r, key, "text/plain; charset=utf-8")
	default:
		u, err := s.opts.Store.URL(r.Context(), key, s.opts.URLExpiry)
		if err != nil {
			s.storeFailed(w, r, err)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
	}
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, key, contentType string) {
	rc, obj, err := s.opts.Store.Get(r.Context(), key)
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", contentType)
	if obj.Size >= 0 {
		w.Header().Set("Content-Length", strconv.FormatInt(obj.Size, 10))
	}
	if obj.SHA256 != "" {
		w.Header().Set("X-Checksum-Sha256", obj.SHA256)
	}
	if _, err := io.Copy(w, rc); err != nil {
		s.opts.Log.Warn().Err(err).Str("key", key).Msg("send file")
	}
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request) (store.Version, bool) {
	v, err := store.ResolveVersion(r.Context(), s.opts.Store, r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		s.storeFailed(w, r, err)
		return v, false
	}
	return v, true
}

func (s *Server) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrNoVersion) {
		s.fail(w, r, http.StatusNotFound, capitalize(err.Error())+".")
		return
	}
	s.opts.Log.Error().Err(err).Str("path", r.URL.Path).Msg("read the artifact store")
	s.fail(w, r, http.StatusServiceUnavailable, "The artifact store could not be read. Try again in a moment.")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
