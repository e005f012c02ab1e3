package builds

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/imagebot/imagebot/bot/jobs"
	"github.com/imagebot/imagebot/bot/state"
	"github.com/imagebot/imagebot/runner"
)

// MRWorker works the MR build jobs through MRStages.
type MRWorker struct {
	river.WorkerDefaults[jobs.Build]
	p *Pipeline
}

// NewMRWorker is the MR build worker over p.
func NewMRWorker(p *Pipeline) *MRWorker { return &MRWorker{p: p} }

// Timeout is off: the runner enforces each image's own deadline.
func (w *MRWorker) Timeout(*river.Job[jobs.Build]) time.Duration { return -1 }

// Work builds one image of one MR commit.
func (w *MRWorker) Work(ctx context.Context, job *river.Job[jobs.Build]) error {
	a := job.Args
	req := runner.Request{Image: a.Image, Force: a.Force, GitSHA: a.SHA, MR: a.MR, TriggeredBy: a.TriggeredBy, WithBases: true,
		Repository: repository(a.Repo.WebURL, a.CloneURL)}
	if a.Only != "" {
		req.Only = []string{a.Only}
	}
	return w.p.Run(ctx, &Job{ID: a.BuildID, Kind: state.KindMR, Forge: a.Forge, Repo: a.Repo, RepoKey: a.Forge + "-" + a.RepoName,
		CloneURL: a.CloneURL, SHA: a.SHA, Image: a.Image, MR: a.MR, JobID: job.ID, Attempt: job.Attempt, Report: true,
		Digest: a.Digest, Request: req}, MRStages())
}

// ReleaseWorker works the release build jobs through ReleaseStages; the
// release's commit statuses are decided by bot/release and delivered
// through the outbox (bot/report/outbox), the build row shows it on the
// web page.
type ReleaseWorker struct {
	river.WorkerDefaults[jobs.Release]
	p *Pipeline
}

// NewReleaseWorker is the release build worker over p.
func NewReleaseWorker(p *Pipeline) *ReleaseWorker { return &ReleaseWorker{p: p} }

// Timeout is off: the runner enforces each image's own deadline.
func (w *ReleaseWorker) Timeout(*river.Job[jobs.Release]) time.Duration { return -1 }

// Work builds and publishes one release.
func (w *ReleaseWorker) Work(ctx context.Context, job *river.Job[jobs.Release]) error {
	a := job.Args
	req := a.Request
	j := &Job{ID: a.BuildID, Kind: state.KindRelease, Forge: a.Forge, Repo: req.Repo, RepoKey: a.Forge + "-" + a.RepoName,
		CloneURL: req.Repo.CloneURL, SHA: a.SHA, Image: a.Image, MR: req.MR, JobID: job.ID, Attempt: job.Attempt,
		Note: "release " + a.Version, Digest: a.Digest, Release: &req,
		Request: runner.Request{Image: a.Image, Version: a.Version}}
	if err := w.p.Run(ctx, j, ReleaseStages()); err != nil {
		return err
	}
	if after := w.p.d.AfterRelease; after != nil && j.status != "" {
		after(ctx, w.p.d.Forges[a.Forge], a, j.status, j.msg)
	}
	return nil
}
