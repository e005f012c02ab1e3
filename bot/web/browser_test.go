package web_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/imagebot/imagebot/bot/web"
	"github.com/imagebot/imagebot/runner/redact"
	"github.com/imagebot/imagebot/runner/testenv"
)

var update = flag.Bool("update", false, "write the browser test's screenshots to testdata/screenshots")

// browser starts Debian's chromium headless with a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := testenv.Tool(t, "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	return bctx
}

func screenshotDir(t *testing.T) string {
	if *update {
		dir := filepath.Join("testdata", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.ArtifactDir()
}

// shoot saves a full-page screenshot at desktop width and one at phone width.
func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	for _, vp := range []struct {
		suffix string
		w, h   int64
		mobile bool
	}{{"", 1280, 900, false}, {"-phone", 390, 844, true}} {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile)
		}
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(vp.w, vp.h, opts...)); err != nil {
			t.Fatal(err)
		}
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(dir, name+vp.suffix+".png")
		if err := os.WriteFile(path, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitText polls the page until sel's text satisfies ok.
func waitText(t *testing.T, ctx context.Context, sel string, within time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := text(t, ctx, sel)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never got the expected text; it has:\n%s", sel, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestBrowserShowsBuildsLiveLogAndDownloadableArtifacts(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t)
	dir := screenshotDir(t)
	u := f.srv.URL

	// The builds page loads and lists the history.
	if err := chromedp.Do(ctx, chromedp.Navigate(u+"/"), chromedp.WaitVisible(chromedp.CSS("#builds"))); err != nil {
		t.Fatal(err)
	}
	rows := text(t, ctx, "#build-rows")
	for _, w := range []string{"debian12-app", "running", "rocky9", "failed", "Provisioning with shell script"} {
		if !strings.Contains(rows, w) {
			t.Errorf("builds page lacks %q: %s", w, rows)
		}
	}
	shoot(t, ctx, dir, "builds")

	// A running build's log grows on screen while the build writes it
	// through the runner's redactor.
	const secret = "hunter2-vcenter-password"
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		lf, err := os.OpenFile(f.logFile, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer lf.Close()
		w := redact.NewWriter(lf, redact.New(secret))
		for i := 1; ; i++ {
			select {
			case <-stop:
				w.Flush()
				return
			case <-time.After(250 * time.Millisecond):
			}
			fmt.Fprintf(w, "==> qemu.app: Provisioning step %d: connecting with password %s\n", i, secret)
			w.Flush()
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate(u+"/builds/b-run"), chromedp.WaitVisible(chromedp.CSS("#log"))); err != nil {
		t.Fatal(err)
	}
	first := waitText(t, ctx, "#log", 10*time.Second, func(s string) bool { return strings.Contains(s, "Provisioning step 1") })
	later := waitText(t, ctx, "#log", 10*time.Second, func(s string) bool { return strings.Contains(s, "Provisioning step 6") })
	if len(later) <= len(first) || !strings.HasPrefix(later, first) {
		t.Fatalf("the log did not grow in place: %d then %d bytes", len(first), len(later))
	}
	if strings.Contains(later, secret) || !strings.Contains(later, redact.Mask) {
		t.Errorf("the secret reached the page, or was not masked:\n%s", later)
	}
	if !strings.Contains(text(t, ctx, "#build-head"), "running") {
		t.Error("the build was not shown as running while its log grew")
	}
	shoot(t, ctx, dir, "build-running")

	// The build ends: the status updates live and the stream stops.
	close(stop)
	<-done
	f.hist.update("b-run", func(b *web.Build) {
		b.Status, b.Finished, b.Artifact = "succeeded", time.Now(), "1.3.0"
		b.Steps[len(b.Steps)-1].Finished = time.Now()
	})
	waitText(t, ctx, "#build-head", 10*time.Second, func(s string) bool { return strings.Contains(s, "succeeded") })
	if cls, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("live").className`)); err != nil || !strings.Contains(cls, "hidden") {
		t.Errorf("the live marker is still shown (%q, %v)", cls, err)
	}

	// The catalog, then latest -> the newest release's page with its files.
	if err := chromedp.Do(ctx, chromedp.Navigate(u+"/images/"), chromedp.WaitVisible(chromedp.CSS(".cards"))); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, dir, "images")
	if err := chromedp.Do(ctx, chromedp.Navigate(u+"/images/debian12-app"), chromedp.WaitVisible(chromedp.CSS("table.list"))); err != nil {
		t.Fatal(err)
	}
	shoot(t, ctx, dir, "image")
	if err := chromedp.Do(ctx, chromedp.Navigate(u+"/images/debian12-app/latest"), chromedp.WaitVisible(chromedp.CSS(".files"))); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || loc != u+"/images/debian12-app/1.3.0" {
		t.Fatalf("latest went to %q (%v)", loc, err)
	}
	files := text(t, ctx, ".files")
	sum := fmt.Sprintf("%x", sha256sum(f.ova))
	if !strings.Contains(files, f.ovaName) || !strings.Contains(files, sum) {
		t.Fatalf("the artifact page does not list %s with sha256 %s:\n%s", f.ovaName, sum, files)
	}
	shoot(t, ctx, dir, "version")

	// Its download link returns the right bytes.
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`[...document.querySelectorAll("a.download")].find(a => a.textContent.trim() === %q).href`, f.ovaName)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(href)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || fmt.Sprintf("%x", sha256sum(got)) != sum {
		t.Fatalf("download %s: %d, %d bytes, sha256 %x; want %s", href, resp.StatusCode, len(got), sha256sum(got), sum)
	}
	t.Logf("screenshots in %s", dir)
}
