package bot

import "github.com/imagebot/imagebot/bot/jobs"

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
