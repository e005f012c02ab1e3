package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

type templates struct {
	pages map[string]*template.Template
	rows  *template.Template // fragments that live pages re-render
}

var pageNames = []string{"builds", "build", "images", "image", "version", "error"}

func parseTemplates() (*templates, error) {
	t := &templates{pages: map[string]*template.Template{}}
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/parts.html", "templates/lifecycle.html")
	if err != nil {
		return nil, fmt.Errorf("parse layout: %w", err)
	}
	for _, p := range pageNames {
		c, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := c.ParseFS(files, "templates/"+p+".html"); err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		t.pages[p] = c
	}
	t.rows = base
	return t, nil
}

func mustSub(dir string) fs.FS {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the embedded tree is fixed at compile time
	}
	return sub
}

// page is what every page template gets.
type page struct {
	Title string
	Nav   string // which menu entry is current
	Base  string // where this server's /images pages live: "" or "/r/<repository>"
	Data  any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, name string, p page) {
	var buf bytes.Buffer
	p.Base = s.opts.Base
	if err := s.tmpl.pages[name].Execute(&buf, p); err != nil {
		s.opts.Log.Error().Err(err).Str("page", name).Msg("render page")
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// fragment renders a named part (a table body) for a live update.
func (s *Server) fragment(name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := s.tmpl.rows.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	return buf.String(), nil
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s.render(w, r, code, "error", page{Title: http.StatusText(code), Data: map[string]any{"Code": code, "Message": msg}})
}

var funcs = template.FuncMap{
	// listAt gives a nested template a list and where the images pages live.
	"listAt":   func(base string, list any) map[string]any { return map[string]any{"Base": base, "List": list} },
	"ago":      ago,
	"duration": duration,
	"size":     size,
	"short":    shortHex,
	"stamp":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"badge":    badge,
	"dec":      func(n int) int { return n - 1 },
}

func ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return t.UTC().Format("2 Jan 2006")
}

// duration is end-start, or start until now while it runs.
func duration(start, end time.Time) string {
	if start.IsZero() {
		return ""
	}
	if end.IsZero() {
		end = time.Now()
	}
	d := end.Sub(start).Round(time.Second)
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	if d < time.Hour {
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
}

func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func shortHex(s string) string {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// badge is the CSS class of a status.
func badge(status string) string {
	switch status {
	case "succeeded", "success", "released":
		return "ok"
	case "failed", "timed_out", "interrupted", "failure":
		return "bad"
	case "running":
		return "run"
	case "cancelled":
		return "off"
	}
	return "wait"
}
