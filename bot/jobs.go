package bot

import (
	"github.com/imagebot/imagebot/bot/builds"
	"github.com/imagebot/imagebot/bot/jobs"
)

// The job args types; bot/jobs owns them and their queues.
type (
	EventArgs   = jobs.Event
	BuildArgs   = jobs.Build
	ReleaseArgs = jobs.Release
	ReportArgs  = jobs.Report
	WriteArgs   = jobs.Write
)

const (
	queueEvents  = jobs.QueueEvents
	queueReports = jobs.QueueReports
)

func buildQueue(capability string) string { return jobs.BuildQueue(capability) }

// What a build is made from; bot/builds owns them.
type (
	Builder        = builds.Builder
	LoadCatalog    = builds.LoadCatalog
	Publisher      = builds.Publisher
	StorePublisher = builds.StorePublisher
)
