package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/local"
)

func TestArtifactsOutdatedListsChildrenOnAnOlderBase(t *testing.T) {
	ctx := context.Background()
	st, err := local.New(store.LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printOutdated(ctx, st, &out); err != nil || out.String() != "no image is outdated\n" {
		t.Fatalf("empty bucket: %q, %v", out.String(), err)
	}
	for _, m := range [][4]string{{"base9", "1.0.0"}, {"base9", "1.1.0"}, {"rocky9", "1.2.0", "base9", "1.0.0"}} {
		body := fmt.Sprintf(`{"image":%q,"version":%q}`, m[0], m[1])
		if m[2] != "" {
			body = fmt.Sprintf(`{"image":%q,"version":%q,"base_image":{"image":%q,"version":%q}}`, m[0], m[1], m[2], m[3])
		}
		if _, err := st.Put(ctx, store.Release(m[0], m[1]).Key(store.ManifestName), strings.NewReader(body), int64(len(body)), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	out.Reset()
	if err := printOutdated(ctx, st, &out); err != nil || out.String() != "OUTDATED rocky9@1.2.0 is built on base9@1.0.0; base9@1.1.0 is newer\n" {
		t.Fatalf("%q, %v", out.String(), err)
	}
}
