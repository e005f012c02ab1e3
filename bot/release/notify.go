package release

import (
	"context"
	"fmt"
	"strings"

	"github.com/imagebot/imagebot/bot/forge"
)

// setStatus sets an image's commit status on the merge commit. Forge
// failures are logged, not returned: the decision stands either way.
func (r *Releaser) setStatus(ctx context.Context, push Push, d Decision) {
	st := forge.Status{Context: "imagebot/" + d.Image, State: statusState(d), Description: statusText(d)}
	if r.PageURL != "" {
		st.TargetURL = strings.TrimSuffix(r.PageURL, "/") + "/" + d.Image
	}
	if err := r.notifier().SetStatus(ctx, push.Repo, push.After, st); err != nil {
		r.Log.Warn().Err(err).Str("image", d.Image).Msg("set release status")
	}
}

// tell posts one comment on the merged MR summing up every decision.
func (r *Releaser) tell(ctx context.Context, push Push, ds []Decision) {
	if len(ds) == 0 || push.MR == nil {
		return
	}
	if err := r.notifier().Comment(ctx, push.Repo, push.MR.Number, Comment(push, ds)); err != nil {
		r.Log.Warn().Err(err).Int("mr", push.MR.Number).Msg("comment release decisions")
	}
}

func (r *Releaser) notifier() Notifier {
	if r.Notify != nil {
		return r.Notify
	}
	return direct{r.Forge}
}

// direct writes to the forge at once: a failed write is lost.
type direct struct{ f Forge }

func (d direct) SetStatus(ctx context.Context, repo forge.Repo, sha string, st forge.Status) error {
	return d.f.SetStatus(ctx, repo, sha, st)
}

func (d direct) Comment(ctx context.Context, repo forge.Repo, mr int, body string) error {
	_, err := d.f.CreateComment(ctx, repo, mr, body)
	return err
}

func statusState(d Decision) forge.State {
	switch {
	case d.Err != nil || d.Action == Refuse:
		return forge.StateFailure
	case d.Action == Build:
		return forge.StatePending
	}
	return forge.StateSuccess
}

// statusText fits GitHub's 140-character description.
func statusText(d Decision) string {
	var s string
	switch {
	case d.Err != nil:
		s = fmt.Sprintf("release %s failed: %v", d.Version, d.Err)
	case d.Action == Refuse && d.ReleasedDigest == "":
		s = fmt.Sprintf("not released: base %s was refused", d.Base.Image)
	case d.Action == Refuse:
		s = fmt.Sprintf("%s exists with other inputs: bump the version in images/%s/env.yaml", d.Version, d.Image)
	case d.Action == UpToDate:
		s = fmt.Sprintf("%s already released with the same inputs", d.Version)
	case d.Action == Promote:
		s = fmt.Sprintf("%s released by promoting an MR build", d.Version)
	default:
		s = fmt.Sprintf("release build of %s queued", d.Version)
	}
	if len(s) > 140 {
		s = s[:137] + "..."
	}
	return s
}

// Comment is the one comment a push's decisions get on the merged MR.
func Comment(push Push, ds []Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**imagebot release** for merge commit %s\n\n| image | version | result |\n|---|---|---|\n", forge.ShortSHA(push.After))
	refused := false
	for _, d := range ds {
		text := d.Reason
		if d.Err != nil {
			text = fmt.Sprintf("failed: %v", d.Err)
		}
		fmt.Fprintf(&b, "| %s | %s | %s: %s |\n", d.Image, d.Version, label(d), strings.ReplaceAll(text, "|", "\\|"))
		refused = refused || d.Action == Refuse
	}
	if refused {
		b.WriteString("\n:warning: A refused image was **not released**. Release versions are immutable: bump the version in `images/<name>/env.yaml` in a new merge request.\n")
	}
	return b.String()
}

func label(d Decision) string {
	switch d.Action {
	case UpToDate:
		return "up to date"
	case Refuse:
		return "**refused**"
	case Promote:
		return "promoted"
	}
	return "building"
}
