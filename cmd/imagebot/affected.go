package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/imagebot/imagebot/runner/catalog"
)

func init() {
	register(command{name: "affected", summary: "list the images a change affects, in build order", run: runAffected})
}

func runAffected(ctx context.Context, args []string) error {
	return affectedTo(ctx, args, os.Stdin, os.Stdout, os.Stderr)
}

func affectedTo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("affected", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "git revision before the change")
	to := fs.String("to", "", "git revision after the change")
	paths := fs.String("paths", "", "comma-separated changed paths, repository-relative (instead of --from/--to; '-' or nothing reads them from stdin, one per line)")
	repo := fs.String("repo", ".", "the images repository checkout")
	asJSON := fs.Bool("json", false, "print JSON: {\"images\": [...], \"changed\": [...]}")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: imagebot affected --from REV --to REV [--repo DIR] [--json]\n       imagebot affected --paths a,b,c [--repo DIR] [--json]\n       git diff --name-only A B | imagebot affected [--repo DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q (give changed paths with --paths)", errUsage, fs.Arg(0))
	}
	var images, changed []string
	var diags catalog.Diagnostics
	switch {
	case *from != "" || *to != "":
		if *from == "" || *to == "" || *paths != "" {
			return fmt.Errorf("%w: give both --from and --to, or --paths", errUsage)
		}
		var err error
		if changed, err = catalog.ChangedPaths(ctx, *repo, *from, *to); err != nil {
			return err
		}
		if images, diags, err = catalog.AffectedRevisions(ctx, *repo, *from, *to); err != nil {
			return err
		}
	default:
		changed = splitPaths(*paths)
		if *paths == "" || *paths == "-" {
			var err error
			if changed, err = readLines(stdin); err != nil {
				return fmt.Errorf("read changed paths from stdin: %w", err)
			}
		}
		var cat *catalog.Catalog
		cat, diags = catalog.LoadContext(ctx, *repo)
		images = catalog.Affected(cat, changed)
	}
	if n := diags.Errors(); n > 0 {
		fmt.Fprintf(stderr, "imagebot affected: warning: the catalog has %d error(s); run imagebot validate\n", n)
	}
	if *asJSON {
		if images == nil {
			images = []string{}
		}
		if changed == nil {
			changed = []string{}
		}
		return json.NewEncoder(stdout).Encode(map[string][]string{"images": images, "changed": changed})
	}
	for _, n := range images {
		fmt.Fprintln(stdout, n)
	}
	return nil
}

func splitPaths(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" && p != "-" {
			out = append(out, p)
		}
	}
	return out
}

func readLines(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}
