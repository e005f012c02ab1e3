package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner/validate"
)

func init() {
	register(command{name: "validate", summary: "check images: env.yaml, template, references, provisioner, packer validate and fmt", run: runValidate})
}

func runValidate(ctx context.Context, args []string) error {
	return validateTo(ctx, args, os.Stdout, os.Stderr)
}

func validateTo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	jobs := fs.Int("jobs", runtime.NumCPU(), "images checked by packer at once")
	repo := fs.String("repo", ".", "the images repository checkout")
	packerBin := fs.String("packer", os.Getenv("IMAGEBOT_PACKER"), "packer binary (default: <repo>/.tools/bin/packer, then PATH)")
	cache := fs.String("cache", defaultValidateCache(), "directory keeping packer validate results of unchanged images (\"\" disables)")
	pluginDir := fs.String("plugin-dir", "", "Packer plugin directory (default: $PACKER_PLUGIN_PATH, then <repo>/.tools/packer-plugins)")
	cfgPath := fs.String("config", "", "configuration file whose validate: section applies (default <repo>/.imagebot/config.yaml when present)")
	fmtSev := fs.String("fmt", "", "severity of packer fmt differences: warning or error (default: the configuration's validate.fmt, else warning)")
	online := fs.Bool("online", false, "let packer use the network (by default init, validate and fmt run with no network)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: imagebot validate [image ...] [--json] [--jobs N] [--repo DIR] [--packer PATH] [--plugin-dir DIR] [--cache DIR] [--config FILE] [--fmt warning|error] [--online]")
		fs.PrintDefaults()
	}
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly}).Level(zerolog.InfoLevel).With().Timestamp().Logger()
	if *cfgPath == "" {
		*cfgPath = filepath.Join(*repo, ".imagebot", "config.yaml")
	}
	settings, err := validate.ReadSettings(*cfgPath)
	if err != nil {
		return err
	}
	if *fmtSev == "" {
		*fmtSev = settings.Fmt
	}
	rep, err := validate.Run(ctx, validate.Options{Root: *repo, Images: fs.Args(), Jobs: *jobs, Packer: *packerBin, PluginDir: *pluginDir,
		CacheDir: *cache, Fmt: *fmtSev, Online: *online, Log: log})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		for _, d := range rep.Diagnostics {
			fmt.Fprintln(stdout, d.String())
		}
		fmt.Fprintf(stdout, "%d image(s) checked in %s (%d unchanged, from cache): %d error(s), %d warning(s)\n",
			len(rep.Images), rep.Elapsed.Round(time.Millisecond), rep.Cached, rep.Errors, rep.Warnings)
	}
	if !rep.OK() {
		return exitError{code: 1}
	}
	return nil
}

// defaultValidateCache is the user's cache directory, or none when it has none.
func defaultValidateCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "imagebot", "validate")
}

// parseInterspersed parses flags given before, between or after positional
// arguments (`imagebot validate rocky9 --json`).
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return err
			}
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	return fs.Parse(append([]string{"--"}, positional...))
}
