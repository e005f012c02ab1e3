package builds

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/imagebot/imagebot/runner"
	"github.com/imagebot/imagebot/runner/store"
)

// ReuseRequest asks for an earlier published build of the same inputs in
// place of a new MR build.
type ReuseRequest struct {
	Image, Digest, Repository string
	Forge, RepoName           string // whose store to look in (StorePublisher.RepoPrefix)
	MR                        int
	SHA, BuildID, TriggeredBy string
}

// Reused is what ReuseMR stored in the new build's place.
type Reused struct {
	From   string // the reused build, e.g. tiny@mr7-1a2b3c4d
	Files  []PublishedFile
	LogURL string
}

// Reuser is a Publisher that can stand an earlier build in for a new one
// (reuse by digest); StorePublisher is one.
type Reuser interface {
	// ReuseMR calls found with the build it will copy, before copying.
	ReuseMR(ctx context.Context, q ReuseRequest, found func(from string)) (*Reused, error)
}

// ReuseMR copies the published, non-revoked build of the same repository
// and inputs digest server-side into this MR build's place, with a new
// manifest naming it (runner/store.Reuse). store.ErrNotFound when there is
// none.
func (p *StorePublisher) ReuseMR(ctx context.Context, q ReuseRequest, found func(from string)) (*Reused, error) {
	st, err := repoStore(p.Store, p.RepoPrefix, q.Forge, q.RepoName)
	if err != nil {
		return nil, err
	}
	to := store.MRBuild(q.Image, q.MR, q.SHA)
	c, err := store.FindReusable(ctx, st, store.ReuseQuery{Image: q.Image, InputsDigest: q.Digest, Repository: q.Repository, Exclude: to})
	if err != nil {
		return nil, err
	}
	if found != nil {
		found(c.Ref.String())
	}
	var secrets []string
	if p.Secrets != nil {
		secrets = p.Secrets()
	}
	res, err := store.Reuse(ctx, st, store.ReuseRequest{From: c, To: to, BuildID: q.BuildID, GitSHA: q.SHA, MR: q.MR,
		TriggeredBy: q.TriggeredBy, Started: time.Now(), Secrets: secrets, Log: &p.Log, Attester: p.Attester})
	if err != nil {
		return nil, err
	}
	out := &Reused{From: c.Ref.String()}
	for _, o := range res.Files {
		url, err := st.URL(ctx, o.Key, p.URLExpiry)
		if err != nil {
			return nil, err
		}
		switch name := path.Base(o.Key); {
		case name == store.LogName:
			out.LogURL = url
		case strings.HasSuffix(name, store.SHA256Suffix), name == store.AttestationName:
		default:
			out.Files = append(out.Files, PublishedFile{Name: name, Key: o.Key, Size: o.Size, SHA256: o.SHA256, URL: url})
		}
	}
	return out, nil
}

// repository is the address recorded in manifests for reuse by digest:
// the repository's web URL, else its clone URL.
func repository(webURL, cloneURL string) string {
	if webURL != "" {
		return webURL
	}
	return cloneURL
}

// reuse stands an earlier build of the same inputs in for this MR build
// (reuse by digest) unless the build was forced or limited to one source.
// When there is none (or the copy failed, which is logged) the build goes
// on; when there is, nothing is fetched or built.
func reuse(ctx context.Context, p *Pipeline, j *Job) error {
	r, ok := p.d.Publish.(Reuser)
	if !ok || j.Request.Force || len(j.Request.Only) > 0 || j.Digest == "" {
		return nil
	}
	start := time.Now()
	got, err := r.ReuseMR(ctx, ReuseRequest{Image: j.Image, Digest: j.Digest, Repository: j.Request.Repository,
		Forge: j.Forge, RepoName: j.Repo.FullName,
		MR: j.MR, SHA: j.SHA, BuildID: j.ID, TriggeredBy: j.Request.TriggeredBy}, func(string) { p.step(ctx, j, "reuse") })
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		msg := p.redact(err.Error())
		j.log.Warn().Str("error", msg).Msg("no reuse by digest; building")
		j.tail.Add("not reused, building: " + msg)
		return nil
	}
	took := time.Since(start)
	j.tail.Add(fmt.Sprintf("reused %s: same inputs %s, artifacts copied in the store in %.1fs, no Packer run", got.From, j.Digest, took.Seconds()))
	j.log.Info().Str("from", got.From).Dur("took", took).Msg("reused by digest")
	j.res = &runner.Result{Status: runner.StatusSucceeded, Image: j.Image, BuildID: j.ID, Digest: j.Digest,
		Reused: true, ReusedFrom: got.From, Started: start, Finished: time.Now()}
	j.files, j.logURL = got.Files, got.LogURL
	j.Note = joinNote(j.Note, "reused "+got.From+", same inputs")
	return errDone
}
