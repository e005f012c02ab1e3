package web_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/imagebot/imagebot/bot/web"
	"github.com/imagebot/imagebot/runner/manifest"
	"github.com/imagebot/imagebot/runner/store"
	"github.com/imagebot/imagebot/runner/store/browsetest"
	"github.com/imagebot/imagebot/runner/store/local"
)

// history is a build history over real log files, as the bot keeps them:
// the runner appends to a file through its redactor, the page reads it.
type history struct {
	mu     sync.Mutex
	builds []web.Build
	logs   map[string]string // build id -> log file
}

func (h *history) Recent(_ context.Context, limit int) ([]web.Build, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]web.Build(nil), h.builds...)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (h *history) Build(_ context.Context, id string) (web.Build, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range h.builds {
		if b.ID == id {
			return b, nil
		}
	}
	return web.Build{}, web.ErrNotFound
}

func (h *history) Log(ctx context.Context, id string, offset int64) ([]byte, bool, error) {
	b, err := h.Build(ctx, id) // judged before reading, so nothing written after is lost
	if err != nil {
		return nil, false, err
	}
	h.mu.Lock()
	path := h.logs[id]
	h.mu.Unlock()
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, false, err
	}
	data, err := io.ReadAll(f)
	return data, b.Done(), err
}

func (h *history) update(id string, fn func(b *web.Build)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.builds {
		if h.builds[i].ID == id {
			fn(&h.builds[i])
		}
	}
}

// fixture is a page over a local store with two releases and an MR build
// of debian12-app, and a build history.
type fixture struct {
	srv     *httptest.Server
	st      *local.Store
	hist    *history
	ova     []byte
	ovaName string
	logFile string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	st, err := local.New(store.LocalConfig{Dir: t.TempDir(), BaseURL: base + "/download"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, st: st, ovaName: "debian12-app-1.3.0.ova"}
	f.ova = make([]byte, 300<<10)
	for i := range f.ova {
		f.ova[i] = byte(i*7 + i/251)
	}
	base12 := browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("debian12", "1.0.0"), Digest: "sha256:4b1c0de5a1e2", GitSHA: "0a1b2c3d4e5f",
		Files: map[string][]byte{"debian12-1.0.0.qcow2": []byte("base disk")}, Log: "==> qemu.base: Starting\n"})
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("debian12-app", "1.2.0"), Digest: "sha256:9f8e7d6c5b4a", GitSHA: "5e6f7a8b9c0d",
		Files: map[string][]byte{"debian12-app-1.2.0.qcow2": []byte("older qcow2")}})
	browsetest.Publish(t, st, browsetest.Build{Ref: store.Release("debian12-app", "1.3.0"), Digest: "sha256:77aa88bb99cc00dd", GitSHA: "c0ffee1234567890",
		Files: map[string][]byte{f.ovaName: f.ova, "debian12-app-1.3.0.qcow2": []byte("qcow2 bytes of 1.3.0")},
		Log:   "==> qemu.app: Starting the virtual machine...\n==> qemu.app: Provisioning with shell script\n",
		Modify: func(m *manifest.Manifest) {
			m.MR = 14
			m.BaseImage = &manifest.BaseImage{Image: "debian12", Version: "1.0.0", BuildID: base12.BuildID, InputsDigest: base12.InputsDigest}
			m.SourceBuild = &manifest.SourceBuild{BuildID: "b-app-mr14", MR: 14, GitSHA: "abcdef0123", Path: "debian12-app/mr/14/abcdef01/"}
			m.Artifacts = []manifest.Artifact{{Source: "amazon-ebs.web", IDs: map[string]string{"eu-west-1": "ami-0abc<b>1", "us-east-1": "ami-0def2"}}}
			m.Plugins = []manifest.Plugin{{Source: "github.com/hashicorp/amazon", Version: "1.3.4"}}
		}})
	browsetest.Publish(t, st, browsetest.Build{Ref: store.MRBuild("debian12-app", 15, "1234abcd99"), Version: "1.4.0", Digest: "sha256:5555aaaa", GitSHA: "1234abcd99",
		Files: map[string][]byte{"debian12-app-1.4.0.qcow2": []byte("mr build")}})

	f.logFile = t.TempDir() + "/build.log"
	if err := os.WriteFile(f.logFile, []byte("==> qemu.app: Retrieving ISO\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f.hist = &history{logs: map[string]string{"b-run": f.logFile, "b-ok": f.logFile, "b-fail": f.logFile}}
	f.hist.builds = []web.Build{
		{ID: "b-run", Image: "debian12-app", Version: "1.4.0", Kind: "mr", MR: 15, SHA: "1234abcd99", Status: "running", Step: "Provisioning with shell script",
			Queued: now.Add(-2 * time.Minute), Started: now.Add(-100 * time.Second), TriggeredBy: "maria",
			Steps: []web.Step{
				{Name: "Fetch commit 1234abcd", Started: now.Add(-100 * time.Second), Finished: now.Add(-97 * time.Second)},
				{Name: "Validate images", Started: now.Add(-97 * time.Second), Finished: now.Add(-95 * time.Second)},
				{Name: "Starting the virtual machine", Started: now.Add(-95 * time.Second), Finished: now.Add(-40 * time.Second)},
				{Name: "Provisioning with shell script", Started: now.Add(-40 * time.Second)},
			}},
		{ID: "b-ok", Image: "debian12-app", Version: "1.3.0", Kind: "release", MR: 14, SHA: "c0ffee1234567890", Status: "succeeded", Step: "Published",
			Queued: now.Add(-3 * time.Hour), Started: now.Add(-3 * time.Hour), Finished: now.Add(-3*time.Hour + 4*time.Minute), Artifact: "1.3.0", TriggeredBy: "maria"},
		{ID: "b-fail", Image: "rocky9", Version: "9.4.1", Kind: "mr", MR: 9, SHA: "9999aaaa0000", Status: "failed", Step: "Waiting for SSH",
			Queued: now.Add(-26 * time.Hour), Started: now.Add(-26 * time.Hour), Finished: now.Add(-26*time.Hour + 20*time.Minute),
			Error: "Timeout waiting for SSH.", TriggeredBy: "li"},
	}
	h, err := web.New(web.Options{Store: st, Builds: f.hist, Poll: 100 * time.Millisecond, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return f
}

func get(t *testing.T, url string) (int, string, *http.Response) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp
}

func TestPagesRenderWhatTheStoreAndHistoryHold(t *testing.T) {
	f := newFixture(t)
	u := f.srv.URL
	manifestSHA := func() string {
		b, _ := store.ReadManifest(context.Background(), f.st, store.Release("debian12-app", "1.3.0"))
		m, _ := manifest.Parse(b)
		for _, x := range m.Files {
			if x.Name == f.ovaName {
				return x.SHA256
			}
		}
		return "none"
	}()
	for _, tc := range []struct {
		path string
		code int
		want []string
	}{
		{"/", 200, []string{"Recent builds", "debian12-app", "Provisioning with shell script", "rocky9", "failed"}},
		{"/builds/b-run", 200, []string{"Fetch commit 1234abcd", "MR !15", `data-build="b-run"`}},
		{"/builds/b-fail", 200, []string{"Timeout waiting for SSH."}},
		{"/builds/nope", 404, []string{"There is no build"}},
		{"/images/", 200, []string{"debian12-app", "latest release <strong>1.3.0</strong>", "2 releases · 1 MR build"}},
		{"/images/debian12-app", 200, []string{"1.3.0", "1.2.0", "mr15-1234abcd", "promoted"}},
		{"/images/debian12-app/1.3.0", 200, []string{f.ovaName, manifestSHA, "300.0 KiB", "debian12 1.0.0", "debian12-app/mr/14/abcdef01/", "build.log", "manifest.json",
			"amazon-ebs.web", "eu-west-1", "ami-0abc&lt;b&gt;1", "us-east-1", "ami-0def2", "github.com/hashicorp/amazon 1.3.4"}},
		{"/images/debian12-app/mr15-1234abcd", 200, []string{"debian12-app-1.4.0.qcow2"}},
		{"/images/debian12-app/9.9.9", 404, []string{"no such version"}},
		{"/images/nosuch", 404, []string{"Nothing has been published"}},
		{"/images/debian12-app/1.3.0/build.log", 200, []string{"Provisioning with shell script"}},
		{"/images/debian12-app/1.3.0/manifest.json", 200, []string{`"inputs_digest": "sha256:77aa88bb99cc00dd"`}},
		{"/builds/b-run/log", 200, []string{"Retrieving ISO"}},
		{"/static/style.css", 200, []string{"--accent"}},
	} {
		code, body, _ := get(t, u+tc.path)
		if code != tc.code {
			t.Errorf("GET %s = %d, want %d\n%s", tc.path, code, tc.code, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %q", tc.path, w)
			}
		}
	}
}

func TestLatestRedirectsToTheNewestRelease(t *testing.T) {
	f := newFixture(t)
	code, _, resp := get(t, f.srv.URL+"/images/debian12-app/latest")
	if code != http.StatusFound || resp.Header.Get("Location") != "/images/debian12-app/1.3.0" {
		t.Fatalf("latest = %d %q", code, resp.Header.Get("Location"))
	}
	if code, body, _ := get(t, f.srv.URL+"/images/debian12-app/latest/manifest.json"); code != 200 || !strings.Contains(body, `"version": "1.3.0"`) {
		t.Errorf("latest/manifest.json = %d %s", code, body)
	}
	browsetest.Publish(t, f.st, browsetest.Build{Ref: store.Release("debian12-app", "1.10.0"), Digest: "sha256:1010", GitSHA: "1010101010",
		Files: map[string][]byte{"debian12-app-1.10.0.qcow2": []byte("newer")}})
	if _, _, resp := get(t, f.srv.URL+"/images/debian12-app/latest"); resp.Header.Get("Location") != "/images/debian12-app/1.10.0" {
		t.Fatalf("after 1.10.0, latest = %q", resp.Header.Get("Location"))
	}
	if code, _, _ := get(t, f.srv.URL+"/images/debian12/latest"); code != http.StatusFound {
		t.Errorf("debian12 latest = %d", code)
	}
}

func TestDownloadLinkReturnsTheStoredBytes(t *testing.T) {
	f := newFixture(t)
	_, body, _ := get(t, f.srv.URL+"/images/debian12-app/1.3.0")
	want := f.srv.URL + "/download/debian12-app/releases/1.3.0/" + f.ovaName
	if !strings.Contains(body, `href="`+want+`"`) {
		t.Fatalf("page lacks the download link %s", want)
	}
	code, got, _ := get(t, want)
	if code != 200 || got != string(f.ova) {
		t.Fatalf("download = %d, %d bytes, want %d bytes", code, len(got), len(f.ova))
	}
	if code, _, _ := get(t, f.srv.URL+"/download/../etc/passwd"); code == 200 {
		t.Error("a key outside the layout was served")
	}
}

// TestBuildEventsStreamNewLinesAndEnd reads the SSE stream itself: lines
// appended while the build runs arrive as "log" events with their offset,
// and the stream ends with "done" once the build has.
func TestBuildEventsStreamNewLinesAndEnd(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.srv.URL + "/builds/b-run/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	go func() {
		lf, _ := os.OpenFile(f.logFile, os.O_APPEND|os.O_WRONLY, 0)
		defer lf.Close()
		for i := range 3 {
			time.Sleep(150 * time.Millisecond)
			fmt.Fprintf(lf, "line %d\n", i)
		}
		fmt.Fprint(lf, "partial without newline")
		time.Sleep(150 * time.Millisecond)
		f.hist.update("b-run", func(b *web.Build) { b.Status, b.Finished = "succeeded", time.Now() })
	}()
	all, err := io.ReadAll(resp.Body) // ends when the server ends the stream
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatal(err)
	}
	s := string(all)
	for _, w := range []string{"data: ==> qemu.app: Retrieving ISO", "data: line 2", "data: partial without newline", "event: done", "event: status"} {
		if !strings.Contains(s, w) {
			t.Errorf("stream lacks %q:\n%s", w, s)
		}
	}
	if strings.Index(s, "line 0") > strings.Index(s, "line 2") {
		t.Error("lines out of order")
	}
	// Reconnecting with Last-Event-ID resumes after what was seen.
	req, _ := http.NewRequest("GET", f.srv.URL+"/builds/b-run/events", nil)
	req.Header.Set("Last-Event-ID", fmt.Sprint(len("==> qemu.app: Retrieving ISO\nline 0\n")))
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if strings.Contains(string(rest), "line 0") || !strings.Contains(string(rest), "line 1") {
		t.Errorf("resumed stream:\n%s", rest)
	}
}

func sha256sum(b []byte) [32]byte { return sha256.Sum256(b) }
