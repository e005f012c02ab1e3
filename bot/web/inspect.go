package web

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/imagebot/imagebot/runner/imagediff"
	"github.com/imagebot/imagebot/runner/store"
)

// The inspection pages: a version's package inventory and the diff between
// any two versions of an image (runner/imagediff, as `imagebot artifacts
// diff` prints it). Their templates are inventory.html and diff.html.
//
// New calls s.inspectRoutes() after s.routes(); it parses the two pages and
// registers
//
//	GET /images/{name}/{version}/packages   the version's inventory
//	GET /images/{name}/diff?from=A&to=B     the diff from version A to B
//
// "diff" cannot be a version name (versions are semantic versions or
// mrN-<sha>), and the literal "packages" segment wins over {file} in
// http.ServeMux (no artifact is called that).
var inspectPages = []string{"inventory", "diff"}

// inspectRoutes parses the inspection pages into s.tmpl and registers their
// routes on s.mux. It must run before any page is rendered (html/template
// cannot clone a template set after it has executed).
func (s *Server) inspectRoutes() error {
	for _, p := range inspectPages {
		c, err := s.tmpl.rows.Clone() // layout.html + parts.html
		if err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		if _, err := c.ParseFS(files, "templates/"+p+".html"); err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		s.tmpl.pages[p] = c
	}
	s.mux.HandleFunc("GET /images/{name}/{version}/packages", s.versionPackages)
	s.mux.HandleFunc("GET /images/{name}/diff", s.versionDiff)
	return nil
}

// versionPackages shows the inventory a version was published with: OS,
// kernel and every package, or says why there is none.
func (s *Server) versionPackages(w http.ResponseWriter, r *http.Request) {
	v, ok := s.resolve(w, r)
	if !ok {
		return
	}
	side, err := imagediff.Load(r.Context(), s.opts.Store, v.Ref)
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	others, err := store.Versions(r.Context(), s.opts.Store, v.Image)
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "inventory", page{Title: v.Image + " " + v.Name() + " packages", Nav: "images", Data: map[string]any{
		"V": v, "Inv": side.Inventory, "Versions": others,
	}})
}

// versionDiff compares two versions of one image. With only ?to= it
// compares that version with what it is measured against elsewhere (a
// release with the release before it, an MR build with the latest
// release); without either, the latest release with the one before it.
func (s *Server) versionDiff(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	versions, err := store.Versions(r.Context(), s.opts.Store, name)
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	if len(versions) == 0 {
		s.fail(w, r, http.StatusNotFound, fmt.Sprintf("%s has no published version.", name))
		return
	}
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	if from == "" && to != "" { // "what changed in this version"
		if from, err = s.before(r, name, to); err != nil {
			s.storeFailed(w, r, err)
			return
		}
	}
	if from == "" || to == "" {
		from, to = defaultPair(versions)
		if from == "" {
			s.fail(w, r, http.StatusNotFound, fmt.Sprintf("%s has only one version: there is nothing to compare.", name))
			return
		}
		http.Redirect(w, r, "/images/"+url.PathEscape(name)+"/diff?"+url.Values{"from": {from}, "to": {to}}.Encode(), http.StatusFound)
		return
	}
	var sides [2]imagediff.Side
	for i, ver := range []string{from, to} {
		v, err := store.ResolveVersion(r.Context(), s.opts.Store, name, ver)
		if err != nil {
			s.storeFailed(w, r, err)
			return
		}
		if sides[i], err = imagediff.Load(r.Context(), s.opts.Store, v.Ref); err != nil {
			s.storeFailed(w, r, err)
			return
		}
	}
	d := imagediff.Compare(sides[0], sides[1])
	s.render(w, r, http.StatusOK, "diff", page{Title: name + " " + from + " → " + to, Nav: "images", Data: map[string]any{
		"Image": name, "From": from, "To": to, "D": d, "Summary": d.Summary(), "Versions": versions,
		"OldInv": sides[0].Inventory != nil, "NewInv": sides[1].Inventory != nil,
	}})
}

// defaultPair is the newest release and the release before it, else the
// two newest versions of any kind (store.Versions lists releases first,
// newest first).
func defaultPair(vs []store.Version) (from, to string) {
	var rel []store.Version
	for _, v := range vs {
		if v.Kind == store.KindRelease {
			rel = append(rel, v)
		}
	}
	if len(rel) < 2 {
		rel = vs
	}
	if len(rel) < 2 {
		return "", ""
	}
	return rel[1].Name(), rel[0].Name()
}

// before is the version to compare version with: for a release the
// release before it, for an MR build the latest release.
func (s *Server) before(r *http.Request, image, version string) (string, error) {
	v, err := store.ResolveVersion(r.Context(), s.opts.Store, image, version)
	if err != nil {
		return "", err
	}
	var ref store.Ref
	if v.Kind == store.KindRelease {
		ref, err = store.Previous(r.Context(), s.opts.Store, image, v.Version)
	} else {
		ref, err = store.Latest(r.Context(), s.opts.Store, image)
	}
	if err != nil {
		return "", err
	}
	return ref.Version, nil
}
