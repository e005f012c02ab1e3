package web_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
)

// TestPagesAndAPIShowRevocationsChannelsAndOutdatedChildren: debian12 gets
// release 1.1.0 while debian12-app's latest (1.3.0) is built on 1.0.0;
// debian12-app@stable points at 1.3.0 and 1.2.0 is revoked. The catalog,
// image and version pages and the JSON API say so.
func TestPagesAndAPIShowRevocationsChannelsAndOutdatedChildren(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	browsetest.Publish(t, f.st, browsetest.Build{Ref: store.Release("debian12", "1.1.0"), Digest: "sha256:0011", GitSHA: "1111aaaa2222",
		Files: map[string][]byte{"debian12-1.1.0.qcow2": []byte("newer base")}})
	if _, err := store.SetChannel(ctx, f.st, store.ChannelRequest{Release: store.Release("debian12-app", "1.3.0"), Channel: "stable", By: "maria", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Revoke(ctx, f.st, store.RevokeRequest{Release: store.Release("debian12-app", "1.2.0"), By: "li", Reason: "CVE-2026-9 <script>", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	u := f.srv.URL
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/images/", []string{`debian12-app <span class="badge wait">outdated</span>`}},
		{"/images/debian12-app", []string{"Release 1.3.0 is built on", "debian12 1.0.0", "debian12 1.1.0</a> is newer", "<strong>stable</strong> →", "moved by maria",
			"Revoked releases", "by li", "CVE-2026-9 &lt;script&gt;"}},
		{"/images/debian12", []string{"Outdated children", `<a href="/images/debian12-app">debian12-app</a> 1.3.0`, "built on 1.0.0, latest 1.1.0"}},
		{"/images/debian12-app/1.2.0", []string{`<span class="badge bad">revoked</span> Revoked by li`, "never latest"}},
	} {
		code, body, _ := get(t, u+tc.path)
		if code != 200 {
			t.Fatalf("%s: %d\n%s", tc.path, code, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", tc.path, w)
			}
		}
	}
	if _, body, _ := get(t, u+"/images/debian12-app/1.3.0"); strings.Contains(body, "Revoked by") {
		t.Error("1.3.0 is marked revoked")
	}

	code, body, resp := get(t, u+"/api/images/debian12-app")
	var l struct {
		Latest   string                             `json:"latest"`
		Revoked  map[string]struct{ Reason string } `json:"revoked"`
		Channels []struct {
			Name    string `json:"channel"`
			Version string `json:"version"`
		} `json:"channels"`
		Outdated *struct{ Base, BuiltOn, BaseLatest string } `json:"outdated"`
	}
	if code != 200 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" || json.Unmarshal([]byte(body), &l) != nil {
		t.Fatalf("API: %d %s", code, body)
	}
	if l.Latest != "1.3.0" || l.Revoked["1.2.0"].Reason != "CVE-2026-9 <script>" || len(l.Channels) != 1 || l.Channels[0].Version != "1.3.0" ||
		l.Outdated == nil || l.Outdated.Base != "debian12" || !strings.Contains(body, `"built_on": "1.0.0"`) || !strings.Contains(body, `"base_latest": "1.1.0"`) {
		t.Fatalf("API answer %s", body)
	}
	_, all, _ := get(t, u+"/api/images/")
	if !strings.Contains(all, `"outdated_children": [`) || strings.Count(all, `"image": "debian12-app"`) < 2 {
		t.Errorf("API list %s", all)
	}
	if code, _, _ := get(t, u+"/api/images/nosuch"); code != 404 {
		t.Errorf("unknown image: %d", code)
	}
}
