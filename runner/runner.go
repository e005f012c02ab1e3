// Package runner owns a build: it turns a Request for one image into a
// Packer run in its own working directory (variables injected, secrets
// redacted, bounded by slots and a deadline), finishes the artifacts
// (qcow2, OVA) and returns a Result. It knows nothing of forges.
package runner

import (
	"time"

	"github.com/imagebot/imagebot/runner/checks"
	"github.com/imagebot/imagebot/runner/packer"
)

// Request asks for one build of one image.
type Request struct {
	Image       string
	Version     string   // defaults to env.yaml's version
	BuildID     string   // unique; generated when empty
	OutDir      string   // where the finished artifacts go
	Force       bool     // rebuild even if the same digest was built
	Only        []string // packer sources to build ("qemu.base"); empty: all
	WithBases   bool     // build missing bases first
	GitSHA      string
	MR          int    // 0 for a release or a local build
	TriggeredBy string // who asked
	// Repository is the template repository's address (its web URL), written
	// into the manifest: reuse by digest only takes builds of the same one.
	Repository string
	// Bases, when set, is asked instead of Config.Bases whether the base
	// release may be used: the bot passes its repository's store, where
	// that repository's releases and revocations live.
	Bases BaseChecker
}

// Status is how a build ended.
type Status string

const (
	StatusSucceeded   Status = "succeeded"
	StatusFailed      Status = "failed"
	StatusCancelled   Status = "cancelled"
	StatusTimedOut    Status = "timed_out"
	StatusInterrupted Status = "interrupted" // the process running it died
)

// File is one finished artifact file.
type File struct {
	Name   string `json:"name"`   // base name, e.g. rocky9-1.2.0.qcow2
	Path   string `json:"-"`      // absolute path on the build host
	Format string `json:"format"` // qcow2, ova, log, manifest, sha256
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// SizeBefore is a disk artifact's size before finishing (for the qcow2:
	// Packer's disk file); see manifest.File.
	SizeBefore int64 `json:"size_before,omitempty"`
}

// Result is what a build produced.
type Result struct {
	Status        Status
	Image         string
	Version       string
	BuildID       string
	Digest        string
	LastStep      string // how far it got
	Error         string // redacted; empty on success
	Files         []File
	LogPath       string
	PackerVersion string
	Plugins       []packer.Plugin // the runner's plugin directory when it built
	Builder       string          // e.g. "qemu"
	// Artifacts are what each source reported, apart (cloud ids by region included).
	Artifacts []SourceArtifact
	// Skipped are the template's sources this runner passed over, and why.
	Skipped []string
	// Checks are the results of env.yaml checks run in the booted artifact
	// (set when they ran, passed or not).
	Checks []checks.Result
	Reused bool // an earlier build of the same digest was reused
	// ReusedFrom names the published build whose artifacts were copied
	// instead of building (reuse by digest, runner/store.Reuse), e.g.
	// "rocky9@mr7-1a2b3c4d"; set by the caller that reused it.
	ReusedFrom string
	Started    time.Time
	Finished   time.Time
}

// EventFunc receives a build's events as they happen. It must not block for long.
type EventFunc func(packer.Event)
