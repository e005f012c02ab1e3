package queue

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"
)

// errorLogger writes one line per failed job, so an operator watching the
// logs sees what River otherwise keeps only in the job row: a warn line
// while the job will be retried, an error line once it gives up.
type errorLogger struct {
	log    zerolog.Logger
	redact func(string) string
}

// jobSubject is what a job is about, read from its args whatever its kind:
// a build id, an MR number, or an event's MR.
type jobSubject struct {
	BuildID string `json:"build_id"`
	MR      int    `json:"mr"`
	Event   struct {
		Type string
		MR   *struct{ Number int }
	} `json:"event"`
}

func (e *errorLogger) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	e.line(job, err.Error())
	return nil
}

func (e *errorLogger) HandlePanic(ctx context.Context, job *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	e.line(job, fmt.Sprintf("panic: %v", v))
	return nil
}

func (e *errorLogger) line(job *rivertype.JobRow, msg string) {
	if e.redact != nil {
		msg = e.redact(msg)
	}
	ev := e.log.Warn()
	text := "job failed; it will be retried"
	if job.Attempt >= job.MaxAttempts {
		ev, text = e.log.Error(), "job failed on its last attempt; giving up"
	}
	ev = ev.Str("job_kind", job.Kind).Int64("job_id", job.ID).Int("attempt", job.Attempt).Int("max_attempts", job.MaxAttempts)
	var s jobSubject
	if json.Unmarshal(job.EncodedArgs, &s) == nil {
		if s.BuildID != "" {
			ev = ev.Str("build", s.BuildID)
		}
		switch {
		case s.MR != 0:
			ev = ev.Int("mr", s.MR)
		case s.Event.MR != nil:
			ev = ev.Int("mr", s.Event.MR.Number)
		}
		if s.Event.Type != "" {
			ev = ev.Str("event", s.Event.Type)
		}
	}
	ev.Str("error", msg).Msg(text)
}
