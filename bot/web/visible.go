package web

import "context"

// visibleBuilds shows a viewer only the builds of repositories Visible
// allows (sign-in with the forge, bot/access): lists leave the others out,
// a build page, log or stream of another answers as an unknown build.
type visibleBuilds struct {
	Builds
	visible func(ctx context.Context, forge, repo string) bool
}

func (v visibleBuilds) Recent(ctx context.Context, limit int) ([]Build, error) {
	list, err := v.Builds.Recent(ctx, limit)
	if err != nil {
		return nil, err
	}
	shown := list[:0]
	for _, b := range list {
		if v.visible(ctx, b.Forge, b.Repo) {
			shown = append(shown, b)
		}
	}
	return shown, nil
}

func (v visibleBuilds) Build(ctx context.Context, id string) (Build, error) {
	b, err := v.Builds.Build(ctx, id)
	if err == nil && !v.visible(ctx, b.Forge, b.Repo) {
		return Build{}, ErrNotFound
	}
	return b, err
}

func (v visibleBuilds) Log(ctx context.Context, id string, offset int64) ([]byte, bool, error) {
	if _, err := v.Build(ctx, id); err != nil {
		return nil, false, err
	}
	return v.Builds.Log(ctx, id, offset)
}
