package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/imagebot/imagebot/bot/browse"
	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/backend"
)

func init() {
	register(command{name: "artifacts", summary: "list, show, download and compare published images (ls, show, get, diff)", run: runArtifacts})
}

const artifactsUsage = `usage:
  imagebot artifacts ls [image]                                   images, or an image's versions
  imagebot artifacts show image@version                           a version's manifest and files
  imagebot artifacts get image@version --format ova|qcow2 -o FILE download, verifying the sha256
  imagebot artifacts diff image@A image@B [--json]                packages, kernel and sizes changed from A to B
version is a release ("1.2.0"), "latest", or an MR build ("mr12-1a2b3c4d").
flags (any subcommand): --config FILE (default .imagebot/config.yaml when present; IMAGEBOT_* variables apply)`

func runArtifacts(ctx context.Context, args []string) error {
	return artifacts(ctx, args, os.Stdout)
}

func artifacts(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("artifacts", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), artifactsUsage) }
	cfgPath := fs.String("config", "", "configuration file")
	format := fs.String("format", "", "get: qcow2 or ova")
	out := fs.String("o", "", "get: file to write")
	asJSON := fs.Bool("json", false, "diff: print JSON")
	if err := fs.Parse(reorderArtifactFlags(args)); err != nil {
		return err
	}
	pos := fs.Args()
	if len(pos) == 0 {
		return fmt.Errorf("%w: want ls, show, get or diff\n%s", errUsage, artifactsUsage)
	}
	st, err := artifactStore(ctx, *cfgPath)
	if err != nil {
		return err
	}
	switch sub, rest := pos[0], pos[1:]; {
	case sub == "ls" && len(rest) == 0:
		return browse.PrintImages(ctx, st, stdout)
	case sub == "ls" && len(rest) == 1:
		return browse.PrintVersions(ctx, st, stdout, rest[0])
	case sub == "show" && len(rest) == 1:
		v, err := resolveArg(ctx, st, rest[0])
		if err != nil {
			return err
		}
		return browse.PrintVersion(ctx, st, stdout, v)
	case sub == "diff" && len(rest) == 2:
		return artifactsDiff(ctx, st, stdout, rest[0], rest[1], *asJSON)
	case sub == "get" && len(rest) == 1:
		if *format == "" || *out == "" {
			return fmt.Errorf("%w: get needs --format ova|qcow2 and -o FILE", errUsage)
		}
		v, err := resolveArg(ctx, st, rest[0])
		if err != nil {
			return err
		}
		f, err := browse.DownloadFile(ctx, st, v, *format, *out)
		if errors.Is(err, browse.ErrChecksum) {
			return fmt.Errorf("%w\nthe download was corrupt and has been deleted; nothing was written to %s", err, *out)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s@%s: wrote %s (%d bytes, sha256 %s verified)\n", v.Image, v.Name(), *out, f.Size, f.SHA256)
		return nil
	}
	return fmt.Errorf("%w: %q\n%s", errUsage, strings.Join(pos, " "), artifactsUsage)
}

func resolveArg(ctx context.Context, st store.Store, arg string) (browse.Version, error) {
	image, version, err := browse.ParseRef(arg)
	if err != nil {
		return browse.Version{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	return browse.Resolve(ctx, st, image, version)
}

// artifactStore opens the store the bot's configuration names.
func artifactStore(ctx context.Context, path string) (store.Store, error) {
	if path == "" {
		if _, err := os.Stat(filepath.Join(".imagebot", "config.yaml")); err == nil {
			path = filepath.Join(".imagebot", "config.yaml")
		}
	}
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		return nil, err
	}
	st, err := backend.Open(ctx, cfg.Store, nil)
	if err != nil {
		return nil, fmt.Errorf("open the artifact store (%s): %w", backend.Describe(cfg.Store), err)
	}
	return st, nil
}

// reorderArtifactFlags lets flags follow the positional arguments.
func reorderArtifactFlags(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && (name == "config" || name == "format" || name == "o") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}
