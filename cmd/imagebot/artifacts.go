package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/imagebot/imagebot/bot/config"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/backend"
)

func init() {
	register(command{name: "artifacts", summary: "list, show, download, compare and verify published images; revoke releases; move channels", run: runArtifacts})
}

const artifactsUsage = `usage:
  imagebot artifacts ls [image]                                   images, or an image's versions
  imagebot artifacts show image@version                           a version's manifest and files
  imagebot artifacts get image@version --format ova|qcow2 -o FILE download, verifying the sha256
  imagebot artifacts diff image@A image@B [--json]                packages, kernel and sizes changed from A to B
  imagebot artifacts outdated                                     images whose latest release is built on an older base release
` + lifecycleUsage + `
version is a release ("1.2.0"), "latest", or an MR build ("mr12-1a2b3c4d").
flags (any subcommand): --config FILE (default .imagebot/config.yaml when present; IMAGEBOT_* variables apply)
  --store-repo forge:group/project  that repository's builds (store keys are per repository; without: the root layout)`

func runArtifacts(ctx context.Context, args []string) error {
	return artifacts(ctx, args, os.Stdout)
}

func artifacts(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("artifacts", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), artifactsUsage) }
	cfgPath := fs.String("config", "", "configuration file")
	storeRepo := fs.String("store-repo", "", "forge:group/project: that repository's builds (store keys are per repository)")
	format := fs.String("format", "", "get: qcow2 or ova")
	out := fs.String("o", "", "get: file to write")
	asJSON := fs.Bool("json", false, "diff: print JSON")
	lf := addLifecycleFlags(fs)
	if err := fs.Parse(reorderArtifactFlags(args)); err != nil {
		return err
	}
	pos := fs.Args()
	if len(pos) == 0 {
		return fmt.Errorf("%w: want ls, show, get, diff, outdated, verify, revoke or promote\n%s", errUsage, artifactsUsage)
	}
	if pos[0] == "verify" && len(pos) == 2 { // offline: no store needed
		return verifyFile(ctx, pos[1], lf, stdout)
	}
	st, err := artifactStore(ctx, *cfgPath, *storeRepo)
	if err != nil {
		return err
	}
	switch sub, rest := pos[0], pos[1:]; {
	case sub == "ls" && len(rest) == 0:
		return printImages(ctx, st, stdout)
	case sub == "ls" && len(rest) == 1:
		if err := printVersions(ctx, st, stdout, rest[0]); err != nil {
			return err
		}
		return printMarks(ctx, st, stdout, rest[0], nil)
	case sub == "show" && len(rest) == 1:
		v, err := resolveArg(ctx, st, rest[0])
		if err != nil {
			return err
		}
		if err := printVersion(ctx, st, stdout, v); err != nil {
			return err
		}
		return printMarks(ctx, st, stdout, v.Image, &v)
	case sub == "outdated" && len(rest) == 0:
		return printOutdated(ctx, st, stdout)
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
		return getVerified(ctx, st, v, *format, *out, lf, stdout)
	case sub == "revoke" && len(rest) == 1:
		return revokeRelease(ctx, st, rest[0], lf, stdout)
	case sub == "promote" && len(rest) == 2:
		return promoteChannel(ctx, st, rest[0], rest[1], lf, stdout)
	}
	return fmt.Errorf("%w: %q\n%s", errUsage, strings.Join(pos, " "), artifactsUsage)
}

func resolveArg(ctx context.Context, st store.Store, arg string) (store.Version, error) {
	image, version, err := store.ParseRef(arg)
	if err != nil {
		return store.Version{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	return store.ResolveVersion(ctx, st, image, version)
}

// artifactStore opens the store the bot's configuration names: with repo
// ("gitlab:group/project"), that repository's part of it; without, the
// root layout.
func artifactStore(ctx context.Context, path, repo string) (store.Store, error) {
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
	if repo == "" {
		return st, nil
	}
	forgeName, path, ok := strings.Cut(repo, ":")
	if !ok {
		return nil, fmt.Errorf("%w: --store-repo %q: want forge:group/project (gitlab:infra/images)", errUsage, repo)
	}
	prefix, err := cfg.Store.RepoPrefix(forgeName, path)
	if err != nil {
		return nil, err
	}
	return store.RepoStore(st, prefix), nil
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
			if !strings.Contains(name, "=") && (name == "config" || name == "store-repo" || name == "format" || name == "o" || lifecycleValueFlags[name]) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}
