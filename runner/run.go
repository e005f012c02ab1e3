package runner

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/redact"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// run is one build in progress.
type run struct {
	r       *Runner
	cat     *catalog.Catalog
	img     *catalog.Image
	req     Request
	onEvent EventFunc
	asBase  bool
	parent  *run // the child build this base is built for
	res     *Result

	work     string              // per-build working directory, removed at the end
	tmp      string              // packer's TMPDIR: short, as its plugin sockets' paths must be
	cred     *syscall.Credential // the build's user; nil: imagebot's
	poolUID  uint32              // the build's own uid from build_uids, returned at cleanup
	box      string              // what the build itself may write: work, or with a build user work/box (its own, 0700)
	home     string              // packer's HOME: the build's own, in box
	repoRoot string              // the repository packer sees: the checkout, or the build user's copy of it
	imageDir string              // absolute images/<name>/: packer's cwd
	redactor *redact.Redactor

	installer bool        // the machine boots an installer ISO (see resolveISO)
	installCh chan string // "start"/"end" of the install, for the console follower
	evMu      sync.Mutex  // one event at a time to track and onEvent (packer output, console)

	mu           sync.Mutex
	log          *os.File
	logPath      string
	lastError    string
	runCtx       context.Context // packer's; once it ends, later steps are cleanup
	frozen       bool            // LastStep stays: the build failed or is being stopped
	artifacts    []*packer.Artifact
	written      []string    // artifact paths this build created in OutDir
	held         []string    // base cache entries this build uses (see holdBase)
	inspected    *inspection // the offline inspection's summary, for the manifest
	checkSeconds float64
	// baseSHA256 is the digest of the base disk this build started from.
	baseSHA256 string
}

func (b *run) prepare() error {
	b.imageDir = absJoin(b.cat.Root, b.img.Dir)
	b.repoRoot = b.cat.Root
	b.work = filepath.Join(b.r.cfg.WorkDir, b.req.BuildID)
	if err := os.MkdirAll(b.work, 0o700); err != nil {
		return fmt.Errorf("build %s: working directory: %w", b.img.Name, err)
	}
	tmpBase := os.TempDir()
	if len(tmpBase) > 60 { // packer's plugin sockets live here; a unix socket path has ~107 bytes
		tmpBase = "/tmp"
	}
	tmp, err := os.MkdirTemp(tmpBase, "imagebot-")
	if err != nil {
		return fmt.Errorf("build %s: temporary directory: %w", b.img.Name, err)
	}
	b.tmp = tmp
	if err := writeOwner(b.work, b.tmp); err != nil {
		b.r.cfg.Log.Warn().Err(err).Str("dir", b.work).Msg("record build owner (a sweep will not remove the directory)")
	}
	if err := b.makeBox(); err != nil {
		return fmt.Errorf("build %s: %w", b.img.Name, err)
	}
	logDir := b.work
	if !b.asBase {
		if err := os.MkdirAll(b.req.OutDir, 0o750); err != nil {
			return fmt.Errorf("build %s: output directory: %w", b.img.Name, err)
		}
		logDir = b.req.OutDir
	}
	b.logPath = filepath.Join(logDir, "build.log")
	f, err := os.OpenFile(b.logPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("build %s: log file: %w", b.img.Name, err)
	}
	b.log = f
	if !b.asBase {
		b.res.LogPath = b.logPath
	}
	b.redactor = redact.New(b.secrets()...)
	b.logf("imagebot build %s %s (build %s, digest %s)", b.img.Name, b.req.Version, b.req.BuildID, b.img.Digest)
	return nil
}

// secrets lists every value to mask: configured secrets, sensitive template
// variables' values (env.yaml or default), and secret-looking environment.
func (b *run) secrets() []string {
	var out []string
	for _, v := range b.r.cfg.Secrets {
		out = append(out, v)
	}
	if b.r.cfg.VSphere != nil {
		out = append(out, vsphere.Secrets(*b.r.cfg.VSphere)...)
	}
	for _, v := range b.img.Template.Variables {
		if !v.Sensitive {
			continue
		}
		if val, ok := b.img.Env.Variables[v.Name]; ok {
			out = append(out, val)
		}
		if v.HasDefault {
			out = append(out, v.Default)
			if u, err := strconv.Unquote(v.Default); err == nil {
				out = append(out, u)
			}
		}
		if val := os.Getenv("PKR_VAR_" + v.Name); val != "" {
			out = append(out, val)
		}
	}
	return append(out, envSecrets()...)
}

// sensitiveEnv passes on, from imagebot's environment, the PKR_VAR_<name>
// of each variable the template declares sensitive: the only way an
// operator's secret reaches a build. Nothing else of that environment does.
func (b *run) sensitiveEnv() []string {
	var env []string
	for _, v := range b.img.Template.Variables {
		if val, ok := os.LookupEnv("PKR_VAR_" + v.Name); ok && v.Sensitive {
			env = append(env, "PKR_VAR_"+v.Name+"="+val)
		}
	}
	return env
}

// envSecrets are values of environment variables whose names say secret,
// and URLs carrying a password whatever their name (IMAGEBOT_DATABASE_URL).
func envSecrets() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, val, _ := strings.Cut(kv, "=")
		if u, err := url.Parse(val); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				out = append(out, val)
				continue
			}
		}
		u := strings.ToUpper(name)
		for _, w := range []string{"PASSWORD", "SECRET", "TOKEN", "PRIVATE_KEY", "ACCESS_KEY"} {
			if strings.Contains(u, w) && len(val) >= redact.MinLen {
				out = append(out, val)
				break
			}
		}
	}
	return out
}

func (b *run) logf(format string, args ...any) {
	b.logLine(time.Now(), fmt.Sprintf(format, args...))
}

func (b *run) logLine(t time.Time, text string) {
	text = b.redactor.String(text)
	if b.parent != nil {
		b.parent.logLine(t, "["+b.img.Name+"] "+text)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.log == nil {
		return
	}
	stamp := t.UTC().Format("15:04:05")
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(b.log, "%s %s\n", stamp, l)
	}
}

func (b *run) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.log != nil {
		b.log.Close()
		b.log = nil
	}
}

// keepAsBase says the build's disk goes into the base cache.
func (b *run) keepAsBase() bool { return b.asBase || isBase(b.cat, b.img.Name) }

// variables builds the -var set: env.yaml's, then imagebot's own where declared.
func (b *run) variables(ctx context.Context, extra map[string]string) map[string]string {
	declared := map[string]bool{}
	for _, v := range b.img.Template.Variables {
		declared[v.Name] = true
	}
	vars := map[string]string{}
	for k, v := range b.img.Env.Variables {
		vars[k] = v
	}
	own := map[string]string{
		catalog.VarImageName:       b.img.Name,
		catalog.VarImageVersion:    b.req.Version,
		catalog.VarBuildID:         b.req.BuildID,
		catalog.VarOutputDirectory: filepath.Join(b.box, "output"),
		catalog.VarGitSHA:          b.req.GitSHA,
		catalog.VarRepoRoot:        b.repoRoot,
		catalog.VarCacheDirectory:  b.r.cfg.CacheDir,
	}
	for k, v := range extra {
		own[k] = v
	}
	for _, name := range catalog.InjectedVariables {
		if !declared[name] {
			continue
		}
		if name == catalog.VarAccelerator {
			vars[name] = b.r.Accelerator(ctx)
			continue
		}
		if v, ok := own[name]; ok {
			vars[name] = v
		}
	}
	return vars
}

// runPacker runs packer build and turns its output into events and the log.
// env is added to packer's environment (the vCenter password as PKR_VAR_).
func (b *run) runPacker(ctx context.Context, extra map[string]string, env []string) error {
	vars := b.variables(ctx, extra)
	parser := packer.NewParser()
	network := b.r.network(b.img, b.req.Only)
	b.logf("packer build in %s (accelerator %s, only %v, network %s)", b.img.Dir, vars[catalog.VarAccelerator], b.req.Only, network)
	opts := packer.BuildOptions{
		Packer:     b.r.cfg.Packer,
		Dir:        b.imageDir,
		Template:   ".",
		Vars:       vars,
		Only:       packerOnly(b.img, b.req.Only),
		Env:        append([]string{"PACKER_CACHE_DIR=" + b.r.packerCache()}, b.sensitiveEnv()...),
		Home:       b.home,
		Tmp:        b.tmp,
		Credential: b.cred,
		Confined:   network == NetworkNone,
		Grace:      b.r.cfg.Grace,
		Line:       func(raw string) { b.line(parser, raw) },
	}
	opts.Env = append(opts.Env, env...)
	b.mu.Lock()
	b.runCtx = ctx
	b.mu.Unlock()
	if path, ok := vars[catalog.VarConsoleLog]; ok {
		stop := b.followConsole(path)
		defer stop()
	}
	return packer.Build(ctx, opts)
}

// followConsole copies the serial console into the log until stop is called.
func (b *run) followConsole(path string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	started, ended := make(chan time.Time, 1), make(chan struct{}, 1)
	b.mu.Lock()
	b.installCh = make(chan string, 4)
	ch := b.installCh
	b.mu.Unlock()
	go func() { // turns packer's SSH wait into the install's start and end
		for {
			select {
			case <-ctx.Done():
				return
			case what := <-ch:
				if what == "start" {
					started <- time.Now()
				} else {
					ended <- struct{}{}
				}
			}
		}
	}()
	done := make(chan struct{})
	go func() {
		defer close(done)
		newConsole(b, path).follow(ctx, started, ended)
	}()
	return func() { cancel(); <-done }
}

// emit hands one event to track and onEvent, one at a time.
func (b *run) emit(ev packer.Event) {
	b.evMu.Lock()
	defer b.evMu.Unlock()
	b.track(ev)
	b.onEvent(ev)
}

// noteInstall tells the console follower when an installer's wait for SSH
// starts and ends: that wait is the install.
func (b *run) noteInstall(ev packer.Event) {
	if !b.installer || ev.Kind != packer.EventStep {
		return
	}
	what := ""
	switch {
	case strings.Contains(ev.Text, "Waiting for SSH to become available"):
		what = "start"
	case strings.Contains(ev.Text, "Connected to SSH"):
		what = "end"
	default:
		return
	}
	b.mu.Lock()
	ch := b.installCh
	b.mu.Unlock()
	if ch != nil {
		select {
		case ch <- what:
		default:
		}
	}
}

func (b *run) line(p *packer.Parser, raw string) {
	raw = b.redactor.String(raw)
	l, ok := packer.ParseLine(raw)
	if !ok {
		b.logLine(time.Now(), raw)
		return
	}
	if l.Type == "ui" && len(l.Data) >= 2 {
		b.logLine(l.Time, strings.Join(l.Data[1:], ","))
	} else if l.Type != "ui" {
		b.logLine(l.Time, fmt.Sprintf("[%s] %s %s", l.Type, l.Target, strings.Join(l.Data, " ")))
	}
	for _, ev := range p.Events(l) {
		ev.Text = b.redactor.String(ev.Text)
		ev.Source = b.redactor.String(ev.Source)
		b.emit(ev)
		b.noteInstall(ev)
	}
}

func (b *run) track(ev packer.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.runCtx != nil && b.runCtx.Err() != nil {
		b.frozen = true
	}
	switch ev.Kind {
	case packer.EventStep:
		if strings.HasPrefix(ev.Text, "Provisioning step had errors") || strings.Contains(ev.Text, "Interrupt") {
			b.frozen = true
		}
		if b.frozen {
			return
		}
		b.res.LastStep = ev.Text
		if ev.Source != "" {
			b.res.LastStep = ev.Source + ": " + ev.Text
		}
	case packer.EventError:
		if b.lastError == "" || ev.Source != "" {
			b.lastError = ev.Text
		}
	case packer.EventErrored:
		b.frozen = true
		if ev.Source != "" {
			b.lastError = ev.Text
		}
	case packer.EventArtifact:
		if ev.Artifact != nil {
			for i, f := range ev.Artifact.Files {
				ev.Artifact.Files[i] = b.redactor.String(f)
			}
			b.artifacts = append(b.artifacts, ev.Artifact)
		}
	}
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
