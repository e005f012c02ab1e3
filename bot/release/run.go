package release

import (
	"context"
	"fmt"

	"github.com/imagebot/imagebot/bot/forge"
	"github.com/imagebot/imagebot/runner/catalog"
)

// Run releases a push from a checkout of push.After at root whose history
// holds push.Before: it loads the catalog, finds the images whose inputs
// changed between the two heads (bases first) and releases them. An
// affected image the catalog could not validate is reported as failed,
// with its first problem, and nothing is built for it.
func (r *Releaser) Run(ctx context.Context, push Push, root string) ([]Decision, error) {
	cat, diags := catalog.LoadContext(ctx, root)
	affected, err := catalog.AffectedBetween(ctx, cat, push.Before, push.After)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", forge.ShortSHA(push.After), err)
	}
	var valid []string
	var invalid []Decision
	for _, name := range affected {
		img := cat.Images[name]
		if img != nil && img.Digest != "" {
			valid = append(valid, name)
			continue
		}
		d := Decision{Image: name, Action: Refuse, Err: fmt.Errorf("images/%s does not validate: %s", name, firstProblem(diags, name))}
		if img != nil {
			d.Version = img.Env.Version
		}
		invalid = append(invalid, d)
	}
	return r.release(ctx, push, cat, valid, invalid)
}

func firstProblem(diags catalog.Diagnostics, image string) string {
	for _, d := range diags {
		if d.Image == image && d.Severity == catalog.SeverityError {
			return fmt.Sprintf("%s:%d:%d: %s", d.File, d.Line, d.Column, d.Message)
		}
	}
	return "see imagebot validate"
}
