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
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// buildOut is where `imagebot build` prints (tests capture it).
var buildOut io.Writer = os.Stdout

func init() {
	register(command{name: "build", summary: "build one image with Packer on this host", run: runBuild})
}

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func runBuild(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: imagebot build <image> [--version V] [--out DIR] [--force] [--only SOURCE] [--with-bases] [--config FILE]")
		fs.PrintDefaults()
	}
	version := fs.String("version", "", "version to build (default: env.yaml's)")
	out := fs.String("out", "", "directory for the artifacts (default: out/<image>/<version>)")
	force := fs.Bool("force", false, "rebuild even when the same inputs were built")
	withBases := fs.Bool("with-bases", false, "build missing base images first")
	config := fs.String("config", "", "imagebot configuration file (its runner: and vsphere: sections)")
	repo := fs.String("repo", "", "images repository (default: the one holding the current directory)")
	verbose := fs.Bool("v", false, "print every line of Packer's output")
	var only listFlag
	fs.Var(&only, "only", "packer source to build, e.g. qemu.base (repeatable)")
	if err := fs.Parse(reorderFlags(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want exactly one image name, got %d", errUsage, fs.NArg())
	}
	root, err := imagesRoot(*repo)
	if err != nil {
		return err
	}
	cat, diags := catalog.LoadContext(ctx, root)
	if diags.HasErrors() {
		for _, d := range diags {
			fmt.Fprintln(os.Stderr, d.String())
		}
		return exitError{1}
	}
	var settings runner.Settings
	if *config != "" {
		if settings, err = runner.ReadSettings(*config); err != nil {
			return err
		}
	}
	if settings.VSphere == nil && os.Getenv("IMAGEBOT_VSPHERE_URL") != "" {
		v, err := vsphere.FromEnv(os.Environ())
		if err != nil {
			return err
		}
		settings.VSphere = &v
	}
	cfg := settings.Config(root)
	if cfg.Packer, err = packer.Locate(settings.Packer, root); err != nil {
		return err
	}
	cfg.Log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	r, err := runner.New(cfg)
	if err != nil {
		return err
	}
	name := fs.Arg(0)
	img, ok := cat.Images[name]
	if !ok {
		return fmt.Errorf("%w: unknown image %q (known: %s)", errUsage, name, strings.Join(cat.Order, ", "))
	}
	v := *version
	if v == "" {
		v = img.Env.Version
	}
	if *out == "" {
		*out = filepath.Join(root, "out", name, v)
	}
	p := newProgress(buildOut, *verbose)
	defer p.stop()
	res, err := r.Build(ctx, cat, runner.Request{
		Image: name, Version: v, OutDir: *out, Force: *force, Only: only,
		WithBases: *withBases, TriggeredBy: os.Getenv("USER"),
	}, p.event)
	p.stop()
	if err != nil {
		return err
	}
	printResult(buildOut, res)
	if res.Status != runner.StatusSucceeded {
		return exitError{1}
	}
	return nil
}

// reorderFlags lets flags follow the image name: `imagebot build app --force`.
func reorderFlags(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-"):
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue(name) && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flags, pos...)
}

func takesValue(name string) bool {
	switch name {
	case "version", "out", "only", "config", "repo":
		return true
	}
	return false
}

// imagesRoot is the repository holding images/: the flag, else the current
// directory or the nearest parent with an images/ directory.
func imagesRoot(flagValue string) (string, error) {
	if flagValue != "" {
		return filepath.Abs(flagValue)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, "images")); err == nil && fi.IsDir() {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("no images/ directory here or above: run inside an images repository or pass --repo")
		}
	}
}

// progress prints a build's events for a person: each step with the elapsed
// time, errors always, other lines with -v, and on a terminal a status line
// that keeps the clock running between steps.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	verbose bool
	start   time.Time
	step    string
	done    chan struct{}
	once    sync.Once
}

func newProgress(w io.Writer, verbose bool) *progress {
	f, isFile := w.(*os.File)
	p := &progress{w: w, verbose: verbose, start: time.Now(), done: make(chan struct{}),
		tty: isFile && isatty.IsTerminal(f.Fd())}
	if p.tty {
		go p.tick()
	}
	return p
}

func (p *progress) tick() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
			p.mu.Lock()
			p.status()
			p.mu.Unlock()
		}
	}
}

func (p *progress) elapsed() string {
	d := time.Since(p.start).Round(time.Second)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

// status redraws the terminal's last line; the caller holds p.mu.
func (p *progress) status() {
	if p.tty && p.step != "" {
		fmt.Fprintf(p.w, "\r\033[K[%s] %s", p.elapsed(), p.step)
	}
}

func (p *progress) println(s string) {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "[%s] %s\n", p.elapsed(), s)
	p.status()
}

func (p *progress) event(ev packer.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	src := ""
	if ev.Source != "" {
		src = ev.Source + ": "
	}
	switch ev.Kind {
	case packer.EventStep:
		p.step = src + ev.Text
		p.println("==> " + p.step)
	case packer.EventError, packer.EventErrored:
		p.println("!!  " + src + ev.Text)
	case packer.EventFinished:
		p.println("    " + ev.Text)
	case packer.EventArtifact:
		if ev.Artifact != nil && len(ev.Artifact.Files) > 0 {
			p.println("    artifact: " + strings.Join(ev.Artifact.Files, ", "))
		}
	default:
		if p.verbose {
			p.println("    " + src + ev.Text)
		}
	}
}

func (p *progress) stop() {
	p.once.Do(func() {
		close(p.done)
		p.mu.Lock()
		if p.tty && p.step != "" {
			fmt.Fprint(p.w, "\r\033[K")
		}
		p.mu.Unlock()
	})
}

func printResult(w io.Writer, res *runner.Result) {
	took := res.Finished.Sub(res.Started).Round(time.Second)
	fmt.Fprintf(w, "\n%s %s: %s in %s", res.Image, res.Version, res.Status, took)
	if res.Reused {
		fmt.Fprint(w, " (reused an earlier build of the same inputs)")
	}
	fmt.Fprintln(w)
	if res.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", res.Error)
	}
	if res.LastStep != "" && res.Status != runner.StatusSucceeded {
		fmt.Fprintf(w, "  last step: %s\n", res.LastStep)
	}
	for _, f := range res.Files {
		fmt.Fprintf(w, "  %-6s %s  %d bytes  sha256:%s\n", f.Format, f.Path, f.Size, f.SHA256)
	}
	if res.LogPath != "" {
		fmt.Fprintf(w, "  log    %s\n", res.LogPath)
	}
}
