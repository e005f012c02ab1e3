// Package packer owns the packer binary: finding it, running `packer
// validate`, `fmt -check` and `build -machine-readable` under a process group
// that can be stopped cleanly, and turning its machine-readable output into
// typed events.
package packer

import "time"

// EventKind says what an Event reports.
type EventKind string

const (
	EventStep     EventKind = "step"     // a "==> source: Doing something..." line: a new step started
	EventMessage  EventKind = "message"  // an ordinary line of output (ui,message)
	EventError    EventKind = "error"    // ui,error or an error line
	EventArtifact EventKind = "artifact" // an artifact and its files
	EventFinished EventKind = "finished" // "Build 'x' finished after ..." (a ui,say line)
	EventErrored  EventKind = "errored"  // "Build 'x' errored after ..." or error-count > 0
)

// Event is one typed thing Packer said. Text is already redacted.
type Event struct {
	Time     time.Time `json:"time"`
	Kind     EventKind `json:"kind"`
	Source   string    `json:"source,omitempty"` // the build's name, e.g. "qemu.base"
	Text     string    `json:"text"`
	Artifact *Artifact `json:"artifact,omitempty"`
}

// Artifact is what Packer reports for a finished build.
type Artifact struct {
	Source    string `json:"source,omitempty"` // the build that made it, e.g. "amazon-ebs.web"
	BuilderID string `json:"builder_id"`
	ID        string `json:"id,omitempty"`
	// IDs are a cloud artifact's ids by region ("us-east-1" -> "ami-..."),
	// read from ID; nil for an artifact whose ID is not region:id pairs.
	IDs   map[string]string `json:"ids,omitempty"`
	Files []string          `json:"files"`
}
