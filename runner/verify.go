package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner/checks"
	"github.com/imagebot/imagebot/runner/manifest"
)

// ChecksDir is where env.yaml `checks:` names are looked up, relative to the
// repository root.
const ChecksDir = "resources/checks"

// runChecks boots the disk the artifacts are made from (src) on a throwaway
// overlay, logs in with the template's SSH credentials and runs the image's
// checks. Each result goes to the log and the manifest; any failed check
// fails the build, and the caller's cleanup then removes every artifact, so
// nothing is published.
func (b *run) runChecks(ctx context.Context, src source) error {
	if len(b.img.Env.Checks) == 0 {
		return nil
	}
	cs, err := checks.Load(filepath.Join(b.cat.Root, ChecksDir), b.img.Env.Checks)
	if err != nil {
		return err
	}
	login, err := b.templateLogin()
	if err != nil {
		return err
	}
	nocloud := b.inspected != nil && b.inspected.cloudInit
	if nocloud {
		b.logf("checks: the image has cloud-init: the login key also goes in a NoCloud seed")
	}
	started := time.Now()
	b.logf("checks: booting %s (%s, the disk the artifacts are written from) on a throwaway overlay (%d checks from %s)",
		filepath.Base(src.path), src.format, len(cs), strings.Join(b.img.Env.Checks, ", "))
	g, err := checks.Boot(ctx, src.path, checks.BootOptions{
		Accel: b.r.Accelerator(ctx), Format: src.format, WorkDir: b.work, User: login.User, Password: login.Password, NoCloud: nocloud,
	})
	if err != nil {
		return err
	}
	defer g.Close()
	b.logf("checks: SSH up after %.1fs (%s)", time.Since(started).Seconds(), g.Login)
	results, err := checks.Run(ctx, g, cs)
	b.res.Checks = results
	var failed []string
	for _, r := range results {
		if r.Passed {
			b.logf("check passed: %s (%s.yaml:%d)", r.Check, r.File, r.Line)
			continue
		}
		b.logf("check FAILED: %s (%s.yaml:%d): %s", r.Check, r.File, r.Line, r.Detail)
		failed = append(failed, r.Check)
	}
	if err != nil {
		return err
	}
	b.checkSeconds = time.Since(started).Seconds()
	b.logf("checks: %s in %.1fs", checks.Summary(results), b.checkSeconds)
	if len(failed) > 0 {
		return fmt.Errorf("checks: %s: %s", checks.Summary(results), strings.Join(failed, ", "))
	}
	return nil
}

// manifestChecks converts the results for manifest.json.
func manifestChecks(rs []checks.Result) []manifest.Check {
	var out []manifest.Check
	for _, r := range rs {
		out = append(out, manifest.Check{File: r.File, Check: r.Check, Passed: r.Passed, Detail: r.Detail})
	}
	return out
}
