// Package validate checks the images of a repository the way a build would
// see them: the catalog's own checks (env.yaml, template, references,
// provisioner, bases) plus `packer validate` with the variables imagebot
// injects and `packer fmt -check`, run in parallel for many images.
package validate

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
)

// Options says what to validate.
type Options struct {
	Root   string   // repository checkout
	Images []string // images to check; empty means all
	Jobs   int      // images checked by Packer at once; 0 means runtime.NumCPU()
	Packer string   // configured packer binary; "" means .tools/bin, then PATH
	// PluginDir is the Packer plugin directory (PACKER_PLUGIN_PATH); ""
	// means $PACKER_PLUGIN_PATH, then <Root>/.tools/packer-plugins.
	PluginDir string
	// CacheDir keeps packer validate results by image digest, variables,
	// packer binary and installed plugins, so an unchanged image is not
	// validated again; "" disables it. Transient failures are never kept.
	CacheDir string
	// Fmt is the severity of `packer fmt` differences: "warning" (default)
	// or "error" (the configuration's validate.fmt: error).
	Fmt string
	// Online lets packer use the network. By default packer init, validate
	// and fmt run in a network namespace of their own with no way out, so a
	// plugin lookup or a checksum URL can never leave the host.
	Online bool
	Log    zerolog.Logger
}

// Report is the outcome: every problem found, located.
type Report struct {
	Images      []string            `json:"images"`
	Diagnostics catalog.Diagnostics `json:"diagnostics"`
	Errors      int                 `json:"errors"`
	Warnings    int                 `json:"warnings"`
	Packer      string              `json:"packer,omitempty"` // the binary used
	PluginDir   string              `json:"plugin_dir,omitempty"`
	Plugins     []packer.Plugin     `json:"plugins,omitempty"` // what the plugin directory holds
	Cached      int                 `json:"cached"`            // images whose packer result came from the cache
	Elapsed     time.Duration       `json:"elapsed_ns"`
}

// OK reports whether validation found no error.
func (r *Report) OK() bool { return r.Errors == 0 }

// Run validates the repository at opts.Root. The error is for what stops
// validation itself (no packer, a cancelled context); problems in the
// repository are in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	start := time.Now()
	cat, diags := catalog.LoadContext(ctx, opts.Root)
	rep := &Report{}
	names, sel := selectImages(cat, opts.Images)
	if len(opts.Images) > 0 {
		diags = onlyImages(cat, diags, names)
	}
	diags = append(diags, sel...)
	rep.Images = names
	bin, err := packer.Locate(opts.Packer, cat.Root)
	if err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(bin); err == nil {
		bin = abs // packer runs in each image's directory
	}
	rep.Packer = bin
	t := tools{bin: bin, offline: !opts.Online, fmtSev: catalog.SeverityWarning}
	switch opts.Fmt {
	case "", "warning":
	case "error":
		t.fmtSev = catalog.SeverityError
	default:
		return nil, fmt.Errorf("validate: fmt %q: want warning or error", opts.Fmt)
	}
	t.pluginDir = packer.LocatePluginDir(opts.PluginDir, cat.Root)
	if t.plugins, err = packer.InstalledPlugins(t.pluginDir); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	rep.PluginDir, rep.Plugins = t.pluginDir, t.plugins
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	cache := newCache(opts.CacheDir, bin, t.pluginDir, t.plugins)
	results := make([]catalog.Diagnostics, len(names)+1)
	var cached atomic.Int32
	var wg sync.WaitGroup
	sem := make(chan struct{}, jobs)
	wg.Add(1)
	go func() {
		defer wg.Done()
		sem <- struct{}{}
		defer func() { <-sem }()
		results[len(names)] = packerFmt(ctx, t, cat, names)
	}()
	for i, name := range names {
		img := cat.Images[name]
		if img == nil || len(img.Template.Sources) == 0 {
			continue // no template to hand to packer; the catalog said why
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			began := time.Now()
			var hit bool
			results[i], hit = checkWithPacker(ctx, t, cache, cat, img)
			if hit {
				cached.Add(1)
			}
			opts.Log.Debug().Str("image", name).Dur("took", time.Since(began)).Bool("cached", hit).Int("problems", len(results[i])).Msg("packer validate")
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	for _, r := range results {
		diags = append(diags, r...)
	}
	diags.Sort()
	if diags == nil {
		diags = catalog.Diagnostics{} // [] rather than null in JSON
	}
	rep.Diagnostics = diags
	rep.Errors, rep.Warnings = diags.Errors(), diags.Warnings()
	rep.Cached = int(cached.Load())
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// selectImages returns the images to check, in build order, and an error
// for every requested name the catalog does not have.
func selectImages(cat *catalog.Catalog, want []string) ([]string, catalog.Diagnostics) {
	if len(want) == 0 {
		return append([]string(nil), cat.Order...), nil
	}
	wanted := map[string]bool{}
	var diags catalog.Diagnostics
	for _, w := range want {
		if _, ok := cat.Images[w]; !ok {
			diags = append(diags, catalog.Diagnostic{File: "images/" + w, Severity: catalog.SeverityError, Image: w,
				Message: fmt.Sprintf("no image named %q%s", w, catalog.Suggest(w, cat.Order))})
			continue
		}
		wanted[w] = true
	}
	var names []string
	for _, n := range cat.Order {
		if wanted[n] {
			names = append(names, n)
		}
	}
	return names, diags
}

// onlyImages keeps the diagnostics of the named images, of the bases they
// derive from (a child cannot build without them) and the repository's own.
func onlyImages(cat *catalog.Catalog, diags catalog.Diagnostics, names []string) catalog.Diagnostics {
	keep := map[string]bool{"": true}
	for _, n := range names {
		for cur := n; cur != "" && !keep[cur]; {
			keep[cur] = true
			img, ok := cat.Images[cur]
			if !ok {
				break
			}
			cur = img.Env.Base
		}
	}
	var out catalog.Diagnostics
	for _, d := range diags {
		if keep[d.Image] {
			out = append(out, d)
		}
	}
	return out
}
