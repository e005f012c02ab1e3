package s3_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/miniotest"
	"github.com/imagebot/imagebot/runner/store/s3"
	"github.com/imagebot/imagebot/runner/store/storetest"
)

// A repository's store passes the whole conformance suite on MinIO.
func TestS3RepoStoreConformance(t *testing.T) {
	srv := miniotest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		prefix, err := store.Config{}.RepoPrefix("gitlab", "infra/images")
		if err != nil {
			t.Fatal(err)
		}
		return store.RepoStore(newStore(t, srv, nil), prefix)
	})
}

func repoStore(t *testing.T, bucket store.Store, cfg store.Config, forge, path string) store.Store {
	t.Helper()
	prefix, err := cfg.RepoPrefix(forge, path)
	if err != nil {
		t.Fatal(err)
	}
	return store.RepoStore(bucket, prefix)
}

// Two repositories of one group (a group webhook) publish the same image
// name into one bucket: neither can take the other's version, overwrite it,
// claim its channel, nor promote the other's MR build; each sees only its
// own builds; a promotion takes only the merged MR's build.
func TestS3RepositoriesCannotTouchEachOthersBuilds(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := context.Background()
	bucket := newStore(t, srv, nil)
	a := repoStore(t, bucket, store.Config{}, "gitlab", "group/images")
	b := repoStore(t, bucket, store.Config{}, "gitlab", "group/intruder")

	rel := store.Release("rocky9", "9.9.9")
	_, files := bigBuild(t, 64<<10)
	if _, err := store.Publish(ctx, a, rel.Prefix(), files, []byte(`{"repo":"a"}`), store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	// b publishes "the same" release: its own, not a's (no ErrExists, no overwrite).
	if _, err := store.Publish(ctx, b, rel.Prefix(), files, []byte(`{"repo":"b"}`), store.PublishOptions{}); err != nil {
		t.Fatalf("b's release collided with a's: %v", err)
	}
	if m, err := store.ReadManifest(ctx, a, rel); err != nil || string(m) != `{"repo":"a"}` {
		t.Fatalf("a's manifest after b published: %s, %v", m, err)
	}
	if _, err := store.SetChannel(ctx, b, store.ChannelRequest{Release: rel, Channel: "stable", By: "intruder", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ReadChannel(ctx, a, "rocky9", "stable"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b's channel is a's: %v", err)
	}
	// b's MR build is invisible to a: a cannot promote it, whatever it names.
	mrB := store.MRBuild("rocky9", 7, "0badc0de")
	if _, err := store.Publish(ctx, b, mrB.Prefix(), files, []byte(`{}`), store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Promote(ctx, a, mrB, store.Release("rocky9", "9.9.10"), []byte(`{}`), store.PromoteOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a promoted b's MR build: %v", err)
	}
	// Within b: only the merged MR's build may be promoted.
	if _, err := store.Promote(ctx, b, mrB, store.Release("rocky9", "9.9.11"), []byte(`{}`), store.PromoteOptions{MergedMR: 5}); err == nil || !strings.Contains(err.Error(), "merged merge request !5") {
		t.Fatalf("promotion of MR 7's build for the merge of MR 5: %v", err)
	}
	if _, err := store.Promote(ctx, b, mrB, store.Release("rocky9", "9.9.11"), []byte(`{}`), store.PromoteOptions{MergedMR: 7}); err != nil {
		t.Fatal(err)
	}
	// b's newer release is not a's latest.
	if latest, err := store.Latest(ctx, a, "rocky9"); err != nil || latest != rel {
		t.Errorf("a's latest = %v, %v; want %v", latest, err, rel)
	}
	// Each lists only its own.
	for name, st := range map[string]store.Store{"a": a, "b": b} {
		builds, err := store.Builds(ctx, st, "rocky9")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, bd := range builds {
			got = append(got, bd.Ref.String())
		}
		want := map[string]string{"a": "rocky9@9.9.9", "b": "rocky9@9.9.11 rocky9@9.9.9 rocky9@mr7-0badc0de"}[name]
		if strings.Join(got, " ") != want {
			t.Errorf("%s lists %v, want %s", name, got, want)
		}
	}
	// The retention tag still marks MR builds below a repository prefix.
	prefix, _ := store.Config{}.RepoPrefix("gitlab", "group/intruder")
	tags, err := srv.Client(t).GetObjectTagging(ctx, bucket.Bucket(), prefix+mrB.Key(store.ManifestName), minio.GetObjectTaggingOptions{})
	if err != nil || tags.ToMap()[s3.TagKey] != "mr" {
		t.Errorf("MR build below %s tagged %v, %v; want %s=mr", prefix, tags, err, s3.TagKey)
	}
	removed, err := store.Sweep(ctx, bucket, time.Hour, time.Now().Add(48*time.Hour))
	if err != nil || len(removed) != 1 || removed[0] != prefix+mrB.Prefix() {
		t.Errorf("sweep removed %v, %v; want [%s]", removed, err, prefix+mrB.Prefix())
	}
}

// A bucket from before keys held the repository stays readable: the one
// repository mapped to "" keeps the root layout (its old releases resolve,
// its new ones land beside them), cannot reach the prefixed repositories,
// and a repository missing from the map is refused.
func TestS3RootLayoutStaysReadableWithRepositoryMap(t *testing.T) {
	srv := miniotest.Start(t)
	ctx := context.Background()
	bucket := newStore(t, srv, nil)
	old := store.Release("rocky9", "1.0.0")
	_, files := bigBuild(t, 64<<10)
	if _, err := store.Publish(ctx, bucket, old.Prefix(), files, []byte(`{"old":true}`), store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := store.Config{Repositories: map[string]string{"gitlab:infra/images": "", "github:acme/images": "acme"}}
	if err := (store.Config{S3: &store.S3Config{Endpoint: "x:1", Bucket: "b"}, Repositories: cfg.Repositories}).Validate(); err != nil {
		t.Fatal(err)
	}
	root := repoStore(t, bucket, cfg, "gitlab", "infra/images")
	acme := repoStore(t, bucket, cfg, "github", "acme/images")
	if m, err := store.ReadManifest(ctx, root, old); err != nil || string(m) != `{"old":true}` {
		t.Fatalf("old release through the root repository: %s, %v", m, err)
	}
	if _, err := store.Publish(ctx, acme, old.Prefix(), files, []byte(`{}`), store.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	images, err := store.Images(ctx, root)
	if err != nil || strings.Join(images, ",") != "rocky9" {
		t.Errorf("root images %v, %v", images, err)
	}
	if objs, _ := root.List(ctx, ""); len(objs) == 0 || strings.HasPrefix(objs[0].Key, "_repo") || strings.HasPrefix(objs[len(objs)-1].Key, "_repo") {
		t.Errorf("root lists other repositories' keys: %v", objs)
	}
	if _, err := root.Put(ctx, "_repo/acme/rocky9/releases/2.0.0/manifest.json", strings.NewReader("{}"), 2, store.PutOptions{}); err == nil {
		t.Error("the root repository wrote below _repo/")
	}
	if _, err := cfg.RepoPrefix("gitlab", "infra/other"); err == nil || !strings.Contains(err.Error(), "not in store.repositories") {
		t.Errorf("unknown repository: %v", err)
	}
}

func TestRepositoryMapValidation(t *testing.T) {
	for _, tc := range []struct {
		m    map[string]string
		want string
	}{
		{map[string]string{"infra/images": "x"}, "want forge:group/project"},
		{map[string]string{"gitlab:a/b": "A/B"}, "one key segment"},
		{map[string]string{"gitlab:a/b": "x", "github:c/d": "x"}, `both map to prefix "x"`},
		{map[string]string{"gitlab:a/b": "", "github:c/d": ""}, `both map to prefix ""`},
	} {
		err := store.Config{Local: &store.LocalConfig{Dir: "/x"}, Repositories: tc.m}.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.m, err, tc.want)
		}
	}
}
