// Package jobs owns every job the bot queues in River: each job's args
// type (its JSON payload, which stays readable by the next release), its
// kind, the queue it runs on and how it is inserted (attempts, uniqueness).
// It is a leaf: the packages that queue a job and the workers that run it
// both depend on it, never on each other.
package jobs

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/bot/release"
)

// Queue names. Builds run on one queue per capability (BuildQueue).
const (
	QueueEvents  = "events"
	QueueReports = "reports"
)

// BuildQueue is the queue of the builds that need capability (kvm, vsphere).
func BuildQueue(capability string) string { return "build_" + capability }

// Event is the job that handles one stored webhook delivery.
type Event struct {
	Event forge.Event `json:"event"`
}

// Kind names the job for River.
func (Event) Kind() string { return "imagebot_event" }

// Build is the job that builds one image of one MR commit. The unique
// fields make the same image at the same commit and inputs digest (and
// retry generation) one job, however often it is asked for.
type Build struct {
	BuildID     string     `json:"build_id"`
	Forge       string     `json:"forge" river:"unique"`
	RepoName    string     `json:"repo_name" river:"unique"`
	Repo        forge.Repo `json:"repo"`
	CloneURL    string     `json:"clone_url"`
	MR          int        `json:"mr"`
	SHA         string     `json:"sha" river:"unique"`
	Image       string     `json:"image" river:"unique"`
	Digest      string     `json:"digest" river:"unique"`
	Gen         int        `json:"gen" river:"unique"` // bumped by /retry and --force
	Force       bool       `json:"force,omitempty"`
	Only        string     `json:"only,omitempty" river:"unique"`
	TriggeredBy string     `json:"triggered_by"`
}

// Kind names the job for River.
func (Build) Kind() string { return "imagebot_build" }

// Release is the job that builds and publishes one release (bot/release
// queued it for a merge). The same image, version and digest at the same
// merge commit is one job.
type Release struct {
	BuildID  string               `json:"build_id"`
	Forge    string               `json:"forge" river:"unique"`
	RepoName string               `json:"repo_name" river:"unique"`
	SHA      string               `json:"sha" river:"unique"`
	Image    string               `json:"image" river:"unique"`
	Version  string               `json:"version" river:"unique"`
	Digest   string               `json:"digest" river:"unique"`
	Request  release.BuildRequest `json:"request"`
}

// Kind names the job for River.
func (Release) Kind() string { return "imagebot_release" }

// Report is the outbox job that brings one MR's comment and commit
// statuses up to date. At most one waits per MR; a failed delivery is
// retried with River's backoff, so a forge outage delays reports but loses
// none.
type Report struct {
	Forge    string `json:"forge" river:"unique"`
	RepoName string `json:"repo_name" river:"unique"`
	MR       int    `json:"mr" river:"unique"`
}

// Kind names the job for River.
func (Report) Kind() string { return "imagebot_report" }

// Write is the outbox job for the forge writes that are not an MR's
// report: a release's commit statuses and its comment on the merged MR.
// The wanted write is stored first (imagebot_outbox) and the job delivers
// the latest one, retried with River's backoff, so a forge outage delays
// it but loses none. At most one job waits per target.
type Write struct {
	Forge    string `json:"forge" river:"unique"`
	RepoName string `json:"repo_name" river:"unique"`
	Target   string `json:"target" river:"unique"` // "status:<sha>:<context>" or "comment:<id>"
}

// Kind names the job for River.
func (Write) Kind() string { return "imagebot_forge_write" }

// EventOpts inserts an event job.
func EventOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: QueueEvents, MaxAttempts: 5}
}

// BuildOpts inserts a build or release job on capability's queue: two
// attempts (the second re-runs a build a restart stopped), one job per
// unique args.
func BuildOpts(capability string) *river.InsertOpts {
	return &river.InsertOpts{Queue: BuildQueue(capability), MaxAttempts: 2, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// OutboxOpts inserts a report or forge-write job: at most one waits per
// target, retried for a long forge outage.
func OutboxOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: QueueReports, MaxAttempts: 30,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateScheduled, rivertype.JobStateRetryable}},
	}
}
