package runner

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/imagebot/imagebot/runner/catalog"
)

// resolveISO finds the installer ISO a qemu image installs from, before any
// machine starts, so that a missing ISO fails the build in seconds with a
// message saying which ISO and how to provide it instead of Packer trying
// (and, offline, timing out on) the template's download URL.
//
// The ISO is named by the file name of the template's iso_url (env.yaml's
// variables win over the default). It is looked up in order: the runner
// configuration's isos map (name -> path or URL, the only way a download is
// allowed), the ISO directory (iso_dir), the cache directory's iso/, and the
// default itself when it is a local path relative to the image. It returns
// "" when the image declares no iso_url variable (disk_image builds).
func (b *run) resolveISO() (string, error) {
	want, ok := b.isoWanted()
	if !ok {
		return "", nil
	}
	name := isoName(want)
	if name == "" {
		return "", fmt.Errorf("iso_url %q of %s names no file", want, b.img.Template.Path)
	}
	if v, ok := b.r.cfg.ISOs[name]; ok {
		if isURL(v) {
			return v, nil
		}
		p := absJoin(b.cat.Root, v)
		if fileExists(p) {
			return p, nil
		}
		return "", fmt.Errorf("installer ISO %s: the runner configuration's isos entry says %s, which does not exist", name, p)
	}
	var looked []string
	for _, dir := range b.isoDirs() {
		p := filepath.Join(dir, name)
		if fileExists(p) {
			return p, nil
		}
		looked = append(looked, dir)
	}
	if !isURL(want) {
		if p := absJoin(b.imageDir, want); fileExists(p) {
			return p, nil
		}
	}
	return "", &missingISOError{Image: b.img.Name, Name: name, URL: want, Checksum: b.variableValue("iso_checksum"), Dirs: looked}
}

// missingISOError says which ISO is missing and how to provide it.
type missingISOError struct {
	Image, Name, URL, Checksum string
	Dirs                       []string
}

func (e *missingISOError) Error() string {
	var s strings.Builder
	fmt.Fprintf(&s, "image %s needs the installer ISO %s", e.Image, e.Name)
	if e.URL != e.Name {
		fmt.Fprintf(&s, " (template iso_url %s", e.URL)
		if e.Checksum != "" {
			fmt.Fprintf(&s, ", %s", e.Checksum)
		}
		s.WriteString(")")
	}
	fmt.Fprintf(&s, ", and this runner has none: put the file into %s, or set its path or URL in the runner configuration (runner: isos: {%q: PATH_OR_URL})",
		strings.Join(e.Dirs, " or "), e.Name)
	return s.String()
}

// isoDirs are the directories searched for ISOs by file name.
func (b *run) isoDirs() []string {
	dirs := []string{}
	if b.r.cfg.ISODir != "" {
		dirs = append(dirs, b.r.cfg.ISODir)
	}
	return append(dirs, filepath.Join(b.r.cfg.CacheDir, "iso"))
}

// isoWanted is the iso_url the build would use: env.yaml's, else the default.
func (b *run) isoWanted() (string, bool) {
	for _, v := range b.img.Template.Variables {
		if v.Name != catalog.VarISOURL {
			continue
		}
		if val, ok := b.img.Env.Variables[v.Name]; ok {
			return val, true
		}
		if v.HasDefault {
			return unquote(v.Default), true
		}
	}
	return "", false
}

// variableValue is a variable's env.yaml value or default ("" when neither).
func (b *run) variableValue(name string) string {
	if val, ok := b.img.Env.Variables[name]; ok {
		return val
	}
	for _, v := range b.img.Template.Variables {
		if v.Name == name && v.HasDefault {
			return unquote(v.Default)
		}
	}
	return ""
}

func isoName(u string) string {
	p := u
	if parsed, err := url.Parse(u); err == nil && parsed.Scheme != "" {
		p = parsed.Path
	}
	name := path.Base(filepath.ToSlash(p))
	if name == "." || name == "/" {
		return ""
	}
	return name
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(u.Scheme) > 1 && strings.Contains(s, "://")
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
