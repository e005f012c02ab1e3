package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/vsphere"
)

// errTimedOut is the cause of a build's deadline, to tell it from a cancel.
var errTimedOut = errors.New("build deadline passed")

// Build builds one image (its missing bases first when req.WithBases) and
// returns how it ended. The error is non-nil only when the build could not
// be attempted (unknown image, unusable output directory); a failed,
// cancelled or timed-out build is a Result with that Status.
// Cancelling ctx stops the build (Result.Status cancelled).
func (r *Runner) Build(ctx context.Context, cat *catalog.Catalog, req Request, onEvent EventFunc) (*Result, error) {
	return r.build(ctx, cat, req, onEvent, nil)
}

// build runs one image. With a parent (a child that needs it as its base)
// it builds only into the base cache: no artifacts, no output directory, and
// its log lines go into the parent's log too.
func (r *Runner) build(ctx context.Context, cat *catalog.Catalog, req Request, onEvent EventFunc, parent *run) (*Result, error) {
	asBase := parent != nil
	img, ok := cat.Images[req.Image]
	if !ok {
		return nil, fmt.Errorf("build %s: no such image (known: %s)", req.Image, strings.Join(cat.Order, ", "))
	}
	if req.OutDir == "" && !asBase {
		return nil, fmt.Errorf("build %s: no output directory", req.Image)
	}
	if onEvent == nil {
		onEvent = func(packer.Event) {}
	}
	if req.Version == "" {
		req.Version = img.Env.Version
	}
	if req.BuildID == "" {
		req.BuildID = newBuildID(img.Name)
	}
	b := &run{
		r: r, cat: cat, img: img, req: req, onEvent: onEvent, asBase: asBase, parent: parent,
		res: &Result{
			Image: img.Name, Version: req.Version, BuildID: req.BuildID, Digest: img.Digest,
			Started: time.Now().UTC(), Builder: builderOf(img),
		},
	}
	b.res.PackerVersion = r.PackerVersion(ctx)
	r.maybeSweepOld()
	r.setRunning(req.BuildID, true)
	defer r.setRunning(req.BuildID, false)
	b.res.Plugins = r.Plugins()
	planned, skipped, planErr := r.planSources(img, req.Only)
	if len(skipped) > 0 {
		b.req.Only = planned // the sources it cannot build never start
	}
	b.res.Skipped = skipped
	if err := b.prepare(); err != nil {
		b.releaseCred()
		return nil, err
	}
	defer b.cleanup()
	for _, s := range skipped {
		b.logf("not building %s on this runner", s)
	}
	if planErr != nil {
		b.res.Status, b.res.Error = StatusFailed, b.redactor.String(planErr.Error())
		b.logf("build %s: %s", StatusFailed, b.res.Error)
	} else {
		b.execute(ctx)
	}
	b.res.Artifacts = b.sourceArtifacts()
	b.res.Finished = time.Now().UTC()
	b.close()
	if err := b.seal(); err != nil {
		b.res.Status = StatusFailed
		b.res.Error = b.redactor.String("manifest: " + err.Error())
	}
	return b.res, nil
}

func newBuildID(image string) string {
	var x [4]byte
	_, _ = rand.Read(x[:])
	return fmt.Sprintf("%s-%s-%s", image, time.Now().UTC().Format("20060102T150405"), hex.EncodeToString(x[:]))
}

func builderOf(img *catalog.Image) string {
	if len(img.Template.Sources) == 0 {
		return ""
	}
	return img.Template.Sources[0].Type
}

// isBase reports whether another image of the catalog derives from img.
func isBase(cat *catalog.Catalog, name string) bool {
	for _, i := range cat.Images {
		if i.Env.Base == name {
			return true
		}
	}
	return false
}

// execute does the build and fills b.res; it never returns early without a status.
func (b *run) execute(ctx context.Context) {
	fail := func(status Status, format string, args ...any) {
		b.res.Status = status
		b.res.Error = b.redactor.String(fmt.Sprintf(format, args...))
		b.logf("build %s: %s", status, b.res.Error)
	}
	vars := map[string]string{}
	onVSphere := vsphere.UsesVSphere(b.img, b.req.Only)
	if !onVSphere {
		// Before any base or slot: a missing ISO fails in seconds.
		iso, err := b.resolveISO()
		if err != nil {
			fail(StatusFailed, "%v", err)
			return
		}
		if iso != "" {
			b.installer = true
			vars[catalog.VarISOURL] = iso
			b.logf("installer ISO: %s", iso)
		}
		vars[catalog.VarConsoleLog] = filepath.Join(b.work, "console.log")
	}
	// A vSphere base is a template in vCenter, not a disk here: the preflight checks it.
	if err := b.r.checkBase(ctx, b.cat, b.img.Env.Base, b.req.Bases); err != nil {
		fail(StatusFailed, "base %s: %v", b.img.Env.Base, err)
		return
	}
	if base := b.img.Env.Base; base != "" && !onVSphere {
		entry, status, err := b.r.ensureBase(ctx, b, base)
		if err != nil {
			fail(status, "base %s: %v", base, err)
			return
		}
		vars[catalog.VarBaseImage] = entry.Disk
		vars[catalog.VarBaseImageChecksum] = "sha256:" + entry.SHA256
		b.baseSHA256 = entry.SHA256
	}
	if b.keepAsBase() && !b.req.Force && !onVSphere {
		if entry, ok := b.holdBase(b.img); ok {
			b.logf("reusing %s built earlier at digest %s", b.img.Name, b.img.Digest)
			b.res.Reused = true
			b.finishFrom(ctx, entry, fail)
			return
		}
	}
	vsVars, vsEnv, err := b.vsphereBefore(ctx, b.r.cfg.VSphere)
	if err != nil {
		status := StatusFailed
		if ctx.Err() != nil {
			status = StatusCancelled
		}
		fail(status, "%v", err)
		return
	}
	maps.Copy(vars, vsVars)
	if err := b.r.acquire(ctx); err != nil {
		fail(StatusCancelled, "cancelled while waiting for a build slot: %v", err)
		return
	}
	defer b.r.release()

	timeout, err := b.timeout()
	if err != nil {
		fail(StatusFailed, "%v", err)
		return
	}
	runCtx, cancel := context.WithTimeoutCause(ctx, timeout, errTimedOut)
	defer cancel()
	packerStart := time.Now()
	if err := b.initPlugins(runCtx); err != nil {
		fail(StatusFailed, "%v", err)
		return
	}
	err = b.runPacker(runCtx, vars, append(vsEnv, b.r.pluginEnv()...))
	b.logf("packer ran %.1fs", time.Since(packerStart).Seconds())
	b.vsphereAfter(ctx, b.r.cfg.VSphere, err == nil && runCtx.Err() == nil)
	switch {
	case errors.Is(context.Cause(runCtx), errTimedOut) && ctx.Err() == nil:
		fail(StatusTimedOut, "timed out after %s at step %q", timeout, b.res.LastStep)
	case ctx.Err() != nil:
		fail(StatusCancelled, "cancelled at step %q: %v", b.res.LastStep, context.Cause(ctx))
	case err != nil:
		msg := b.lastError
		if msg == "" {
			msg = err.Error()
		}
		fail(StatusFailed, "%s", msg)
	case onVSphere:
		b.finishVSphere(ctx, fail)
	case b.cloudOnly():
		b.res.Status = StatusSucceeded // cloud images: their ids are the result
	default:
		entry, err := b.collect()
		if err != nil {
			fail(StatusFailed, "collect artifacts: %v", err)
			return
		}
		b.finishFrom(ctx, entry, fail)
	}
}

// finishFrom turns the build's files into the finished artifacts (or, for a
// base build, leaves them in the cache only).
func (b *run) finishFrom(ctx context.Context, entry *baseEntry, fail func(Status, string, ...any)) {
	if b.asBase {
		b.res.Status = StatusSucceeded
		return
	}
	finishStart := time.Now()
	files, err := b.finish(ctx, entry)
	b.logf("artifacts finished in %.1fs", time.Since(finishStart).Seconds())
	if err != nil {
		if ctx.Err() != nil {
			fail(StatusCancelled, "cancelled while finishing artifacts: %v", context.Cause(ctx))
			return
		}
		fail(StatusFailed, "finish artifacts: %v", err)
		return
	}
	b.res.Files = files
	b.res.Status = StatusSucceeded
}

// cleanup removes the working directory and, unless the build succeeded,
// every artifact it started writing: only build.log stays.
func (b *run) cleanup() {
	b.releaseCred()
	b.r.releaseBases(b.held)
	if b.res.Status != StatusSucceeded {
		for _, p := range b.written {
			_ = os.Remove(p)
		}
	}
	for _, dir := range []string{b.work, b.tmp} {
		if dir == "" {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			b.r.cfg.Log.Warn().Err(err).Str("dir", dir).Msg("remove build directory")
		}
	}
}

// timeout is env.yaml's timeout, or the default; one above the runner's
// max_timeout is refused, naming env.yaml's line.
func (b *run) timeout() (time.Duration, error) {
	t := b.img.Env.Timeout
	if t <= 0 {
		return b.r.cfg.DefaultTimeout, nil
	}
	if t > b.r.cfg.MaxTimeout {
		where := b.img.Dir + "/env.yaml"
		if p, ok := b.img.EnvPos["timeout"]; ok && p.Line > 0 {
			where = fmt.Sprintf("%s:%d", p.File, p.Line)
		}
		return 0, fmt.Errorf("%s: timeout %s exceeds this runner's max_timeout %s", where, t, b.r.cfg.MaxTimeout)
	}
	return t, nil
}

func absJoin(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}
