package web

import (
	"context"
	"errors"
	"testing"
)

type listBuilds []Build

func (l listBuilds) Recent(context.Context, int) ([]Build, error) {
	return append([]Build(nil), l...), nil
}
func (l listBuilds) Build(_ context.Context, id string) (Build, error) {
	for _, b := range l {
		if b.ID == id {
			return b, nil
		}
	}
	return Build{}, ErrNotFound
}
func (l listBuilds) Log(context.Context, string, int64) ([]byte, bool, error) {
	return []byte("log"), true, nil
}

// With sign-in (Options.Visible), a viewer's lists, build pages and logs
// hold only the repositories the forge lets them read.
func TestVisibleBuildsHideOtherRepositories(t *testing.T) {
	all := listBuilds{{ID: "a", Forge: "gitlab", Repo: "infra/images"}, {ID: "b", Forge: "gitlab", Repo: "infra/secret"}, {ID: "c", Forge: "github", Repo: "infra/images"}}
	v := visibleBuilds{Builds: all, visible: func(_ context.Context, forge, repo string) bool { return forge == "gitlab" && repo == "infra/images" }}
	ctx := context.Background()
	list, _ := v.Recent(ctx, 10)
	if len(list) != 1 || list[0].ID != "a" {
		t.Errorf("Recent = %+v, want only a", list)
	}
	for id, want := range map[string]error{"a": nil, "b": ErrNotFound, "c": ErrNotFound} {
		if _, err := v.Build(ctx, id); !errors.Is(err, want) {
			t.Errorf("Build(%s) = %v, want %v", id, err, want)
		}
		if _, _, err := v.Log(ctx, id, 0); !errors.Is(err, want) {
			t.Errorf("Log(%s) = %v, want %v", id, err, want)
		}
	}
}
