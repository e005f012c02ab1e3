package builds

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/packer"
	"github.com/imagebot/imagebot/runner/store"
)

// MRStages build one image of one MR commit: reuse an earlier build of
// the same inputs, or fetch, validate, build, record what the build
// learnt, publish under the MR.
func MRStages() []Stage {
	return []Stage{
		{Run: reuse},
		{Run: fetch},
		{Name: "validate", Run: validate},
		{Run: checkImage},
		{Run: repoBases},
		{Run: outDir},
		{Run: build},
		{Run: recordDetails},
		{Name: "publish", Run: publishMR},
		{Run: clean},
	}
}

// ReleaseStages build and publish one release: fetch, validate, then the
// release flow of bot/release (already published? build, vSphere, publish,
// commit status) over the same build stage.
func ReleaseStages() []Stage {
	return []Stage{
		{Run: fetch},
		{Name: "validate", Run: validate},
		{Run: outDir},
		{Run: buildRelease},
		{Run: recordReleaseDetails, Always: true},
		{Run: clean, Always: true},
	}
}

// fetch checks the commit out (shallow, shared with the event jobs).
func fetch(ctx context.Context, p *Pipeline, j *Job) error {
	if p.d.Builder == nil {
		return fmt.Errorf("this imagebot builds nothing")
	}
	f, ok := p.d.Forges[j.Forge]
	if !ok {
		return fmt.Errorf("forge %q is not configured", j.Forge)
	}
	j.forge = f
	user, token, err := forge.CloneAuthOf(ctx, f, j.Repo)
	if err != nil {
		return fmt.Errorf("clone credentials for %s: %w", j.Repo.FullName, err)
	}
	dir, err := p.d.Git.Checkout(ctx, j.RepoKey, j.CloneURL, j.SHA, user, token)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", forge.ShortSHA(j.SHA), err)
	}
	j.dir = dir
	return nil
}

// repoBases makes the build ask this repository's store whether a base
// release may be used (its releases and revocations live there).
func repoBases(_ context.Context, p *Pipeline, j *Job) error {
	if p.d.RepoPrefix == nil || p.artifactStore() == nil {
		return nil
	}
	st, err := p.repoStore(j.Forge, j.Repo.FullName)
	if err != nil {
		return err
	}
	j.Request.Bases = store.BaseGuard{Store: st}
	return nil
}

// validate loads and checks the checkout's catalog.
func validate(ctx context.Context, p *Pipeline, j *Job) error {
	cat, err := p.d.Catalog(ctx, j.dir)
	if err != nil {
		return fmt.Errorf("the images at %s do not validate; nothing was built:\n%w", forge.ShortSHA(j.SHA), err)
	}
	j.cat = cat
	return nil
}

// checkImage makes sure the image asked for is still in the catalog.
func checkImage(_ context.Context, _ *Pipeline, j *Job) error {
	img := j.cat.Images[j.Image]
	if img == nil {
		return fmt.Errorf("image %s is not in the catalog at %s", j.Image, forge.ShortSHA(j.SHA))
	}
	if img.Digest != j.Digest {
		j.log.Warn().Str("queued", j.Digest).Str("now", img.Digest).Msg("inputs digest differs from when the build was queued")
	}
	return nil
}

// outDir makes the build's output directory. A re-run gets directories of
// its own: the dead attempt's are not reused.
func outDir(ctx context.Context, p *Pipeline, j *Job) error {
	j.Request.BuildID = j.ID
	if j.Attempt > 1 {
		j.Request.BuildID = fmt.Sprintf("%s-a%d", j.ID, j.Attempt)
	}
	j.out = filepath.Join(p.d.WorkDir, "out", j.Request.BuildID)
	if err := os.MkdirAll(j.out, 0o750); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	j.Request.OutDir = j.out
	return p.setBuild(ctx, j, state.LogPath(filepath.Join(j.out, "build.log")))
}

// build runs the MR build; one that did not succeed ends here.
func build(ctx context.Context, p *Pipeline, j *Job) error {
	res, err := (gate{p, j}).Build(ctx, j.cat, j.Request, nil)
	j.res = res
	if err != nil {
		return err
	}
	return nil
}

// recordDetails stores what the build learnt; a build that did not
// succeed ends here, unpublished.
func recordDetails(ctx context.Context, p *Pipeline, j *Job) error {
	p.recordDetails(ctx, j, j.res)
	if j.res.Status != runner.StatusSucceeded {
		return errDone
	}
	return nil
}

// publishMR stores the build under the MR.
func publishMR(ctx context.Context, p *Pipeline, j *Job) error {
	files, logURL, err := p.d.Publish.PublishMR(ctx, j.res, j.Forge, j.Repo.FullName, j.MR, j.SHA)
	if err != nil {
		return fmt.Errorf("publish %s: %w", j.Image, err)
	}
	j.files, j.logURL = files, logURL
	return nil
}

// buildRelease is bot/release's release flow over the pipeline's build.
func buildRelease(ctx context.Context, p *Pipeline, j *Job) error {
	r, err := p.d.Releaser(j.Forge, j.forge, j.Repo)
	if err != nil {
		return err
	}
	res, err := r.BuildRelease(ctx, gate{p, j}, j.cat, *j.Release, j.Request.BuildID, j.out, p.d.Secrets(), nil)
	j.res = res
	return err
}

// recordReleaseDetails stores what a release build found (checks,
// hygiene, the package diff against the release before it), as MR builds
// do, read from the runner's files before clean removes them.
func recordReleaseDetails(ctx context.Context, p *Pipeline, j *Job) error {
	if j.res != nil {
		p.recordDetails(ctx, j, j.res)
	}
	return nil
}

// clean removes the published (or failed) artifacts; build.log stays for
// the log API.
func clean(_ context.Context, _ *Pipeline, j *Job) error {
	if j.res == nil {
		return nil
	}
	for _, f := range j.res.Files {
		if f.Path != j.res.LogPath {
			_ = os.Remove(f.Path)
		}
	}
	return nil
}

// gate is the one build both pipelines run: the runner's events feed the
// log tail and the step timeline, and a finished build's manifest is
// checked against the configured secrets before anything publishes it.
type gate struct {
	p *Pipeline
	j *Job
}

func (g gate) Build(ctx context.Context, cat *catalog.Catalog, req runner.Request, _ runner.EventFunc) (*runner.Result, error) {
	p, j := g.p, g.j
	steps := newStepQueue()
	stop, done := make(chan struct{}), make(chan struct{})
	go p.stepWriter(ctx, j, steps, stop, done)
	res, err := p.d.Builder.Build(ctx, cat, req, func(e packer.Event) {
		if e.Text != "" {
			j.tail.Add(e.Text)
		}
		if e.Kind == packer.EventStep {
			steps.add(e.Text) // never blocks the build
		}
	})
	close(stop)
	<-done
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", req.Image, err)
	}
	if res.Status == runner.StatusSucceeded {
		if err := p.checkSecrets(res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// checkSecrets refuses a build whose manifest holds a configured secret.
func (p *Pipeline) checkSecrets(res *runner.Result) error {
	for _, f := range res.Files {
		if f.Format != "manifest" {
			continue
		}
		data, err := os.ReadFile(f.Path)
		if err != nil {
			return fmt.Errorf("read the manifest of %s: %w", res.BuildID, err)
		}
		if err := manifest.CheckSecrets(data, p.d.Secrets()); err != nil {
			return fmt.Errorf("manifest of %s: %w", res.BuildID, err)
		}
	}
	return nil
}
