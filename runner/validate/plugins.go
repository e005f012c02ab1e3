package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
)

// checkPlugins checks a template's required_plugins against the plugin
// directory and runs `packer init` when every one is there. A plugin that is
// missing, or installed only in versions the constraint refuses, is an error
// at its required_plugins entry (whichever file declares it) naming what is
// installed; packer init is not run then, so it never tries a download.
func checkPlugins(ctx context.Context, t tools, cat *catalog.Catalog, img *catalog.Image) catalog.Diagnostics {
	req := img.Template.RequiredPlugins
	if len(req) == 0 {
		return nil
	}
	var diags catalog.Diagnostics
	for _, rp := range req {
		_, ok, err := packer.Satisfied(t.plugins, rp.Source, rp.Version)
		switch {
		case err != nil:
			diags = append(diags, pluginDiag(img, rp, "required plugin %q: %v", rp.Name, err))
		case !ok:
			want := rp.Source
			if rp.Version != "" {
				want += " " + rp.Version
			}
			diags = append(diags, pluginDiag(img, rp, "required plugin %q (%s) is not in the runner's plugin directory %s; installed: %s. imagebot never downloads plugins: install it with `packer plugins install --path BINARY %s` (deploy/install-tools.sh does this for the plugins it builds) or loosen the version constraint",
				rp.Name, want, orDefault(t.pluginDir), installedList(t.plugins, rp.Source), rp.Source))
		}
	}
	if diags.HasErrors() {
		return diags
	}
	err := packer.Init(ctx, packer.InitOptions{Packer: t.bin, Dir: filepath.Join(cat.Root, img.Dir), PluginDir: t.pluginDir, Home: os.Getenv("HOME"), Offline: t.offline})
	if err != nil {
		return catalog.Diagnostics{pluginDiag(img, req[0], "%s (plugin directory %s; installed: %s)", tidyMessage(strings.TrimPrefix(err.Error(), "packer init: Error: ")), orDefault(t.pluginDir), installedList(t.plugins, ""))}
	}
	return nil
}

func pluginDiag(img *catalog.Image, rp catalog.RequiredPlugin, format string, args ...any) catalog.Diagnostic {
	return catalog.Diagnostic{File: rp.Pos.File, Line: rp.Pos.Line, Column: rp.Pos.Column, Severity: catalog.SeverityError, Image: img.Name,
		Message: fmt.Sprintf(format, args...)}
}

// installedList names the installed plugins, those of source first.
func installedList(plugins []packer.Plugin, source string) string {
	var same, other []string
	for _, p := range plugins {
		if strings.EqualFold(p.Source, source) {
			same = append(same, p.String())
		} else {
			other = append(other, p.String())
		}
	}
	all := append(same, other...)
	if len(all) == 0 {
		return "none"
	}
	return strings.Join(all, ", ")
}

func orDefault(dir string) string {
	if dir == "" {
		return "(Packer's default)"
	}
	return dir
}
