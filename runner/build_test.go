package runner

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagebot/imagebot/runner/packer"
)

func TestBuildRedactsCanarySecretsFromLogEventsAndResult(t *testing.T) {
	const configured = "cfg-S3cret-55120"
	const token = "cAn4ry,t0ken-88131" // env.yaml value of the sensitive variable; has a comma
	t.Setenv("IMAGEBOT_TEST_SECRET", configured)
	cat := testRepo(t)
	r, _ := testRunner(t, func(c *Config) { c.Secrets = map[string]string{"test": configured} })
	var evs events
	out := t.TempDir()
	res, err := r.Build(context.Background(), cat, Request{Image: "canary", OutDir: out}, evs.add)
	if err != nil {
		t.Fatal(err)
	}
	// The build itself has no disk, so it fails after printing; what matters is what it printed.
	logData, err := os.ReadFile(filepath.Join(out, "build.log"))
	if err != nil {
		t.Fatal(err)
	}
	evData, _ := json.Marshal(evs.list())
	resData, _ := json.Marshal(res)
	for _, secret := range []string{token, configured, "t0ken-88131", "cAn4ry%!(PACKER_COMMA)t0ken-88131"} {
		for what, data := range map[string]string{"log": string(logData), "events": string(evData), "result": string(resData)} {
			if strings.Contains(data, secret) {
				t.Errorf("%s holds secret %q", what, secret)
			}
		}
	}
	// The lines were there, masked: the test would pass vacuously otherwise.
	// "configured secret:" prints nothing: imagebot's environment does not
	// reach a build (see TestRealBuildReadingTheWholeEnvironmentLeaksNoSecret).
	for _, want := range []string{"plain: [REDACTED]", `quoted: "[REDACTED]"`, "stderr: [REDACTED]", "token again: [REDACTED]"} {
		if !strings.Contains(string(logData), want) {
			t.Errorf("log lacks %q:\n%s", want, logData)
		}
		found := false
		for _, ev := range evs.list() {
			found = found || strings.Contains(ev.Text, want)
		}
		if !found {
			t.Errorf("events lack %q", want)
		}
	}
}

func TestBuildFailingProvisionerNamesStepAndErrorLine(t *testing.T) {
	cat := testRepo(t)
	r, cfg := testRunner(t, nil)
	var evs events
	out := t.TempDir()
	res, err := r.Build(context.Background(), cat, Request{Image: "failing", OutDir: out}, evs.add)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed {
		t.Fatalf("status = %s, want failed (%+v)", res.Status, res)
	}
	// Packer 1.9 prints shell-local's output as messages, so the last step is
	// the provisioner's; from 1.10 on it prints each output line as a step
	// ("==> null.failing: installing the widget"): the last one before the failure.
	if !strings.Contains(res.LastStep, "null.failing: Running local shell script") && res.LastStep != "null.failing: installing the widget" {
		t.Errorf("last step = %q", res.LastStep)
	}
	if !strings.Contains(res.Error, "non-zero exit status: 7") {
		t.Errorf("error = %q", res.Error)
	}
	var step, line, errored bool
	for _, ev := range evs.list() {
		step = step || ev.Kind == packer.EventStep && ev.Source == "null.failing" && strings.HasPrefix(ev.Text, "Running local shell script")
		line = line || ev.Kind == packer.EventError && ev.Source == "null.failing" && ev.Text == "fatal: widget checksum mismatch"
		errored = errored || ev.Kind == packer.EventErrored && ev.Source == "null.failing"
	}
	if !step || !line || !errored {
		t.Fatalf("step event %v, error line event %v, errored event %v in %+v", step, line, errored, evs.list())
	}
	if left := leftovers(t, out, "build.log"); len(left) > 0 {
		t.Errorf("output directory holds %v after a failure", left)
	}
	if left := leftovers(t, cfg.WorkDir); len(left) > 0 {
		t.Errorf("work directory holds %v after a failure", left)
	}
}

// stopMidway starts a real QEMU build that waits for SSH forever, lets stop
// end it once the machine runs, and checks that nothing survives.
func stopMidway(t *testing.T, image string, stop func(cancel context.CancelFunc)) *Result {
	cat := testRepo(t)
	r, cfg := testRunner(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var evs events
	out := t.TempDir()
	id := "stoptest-" + strings.ReplaceAll(t.Name(), "/", "-")
	type done struct {
		res *Result
		err error
	}
	ch := make(chan done, 1)
	go func() {
		res, err := r.Build(ctx, cat, Request{Image: image, OutDir: out, BuildID: id}, evs.add)
		ch <- done{res, err}
	}()
	evs.waitFor(t, 3*time.Minute, func(ev packer.Event) bool {
		return ev.Kind == packer.EventStep && strings.HasPrefix(ev.Text, "Waiting for SSH")
	})
	if procs := processesWith(id); !anyContains(procs, "qemu-system") {
		t.Fatalf("no qemu running for the build mid-way: %v", procs)
	}
	stopped := time.Now()
	stop(cancel)
	var d done
	select {
	case d = <-ch:
	case <-time.After(2 * time.Minute):
		t.Fatal("build did not end within 2 minutes of being stopped")
	}
	t.Logf("build ended %s after being stopped", time.Since(stopped).Round(time.Millisecond))
	if d.err != nil {
		t.Fatal(d.err)
	}
	if procs := processesWith(id); len(procs) > 0 {
		t.Errorf("processes survive the build: %v", procs)
	}
	if left := leftovers(t, cfg.WorkDir); len(left) > 0 {
		t.Errorf("work directory holds %v", left)
	}
	if left := leftovers(t, out, "build.log"); len(left) > 0 {
		t.Errorf("output directory holds %v", left)
	}
	if left := leftovers(t, os.Getenv("TMPDIR")); len(left) > 0 {
		t.Errorf("temporary directory holds %v", left)
	}
	if !strings.Contains(d.res.LastStep, "Waiting for SSH") {
		t.Errorf("last step = %q, want the SSH wait", d.res.LastStep)
	}
	return d.res
}

func anyContains(list []string, s string) bool {
	for _, l := range list {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestCancelRealQEMUBuildMidwayLeavesNothing(t *testing.T) {
	res := stopMidway(t, "stuck", func(cancel context.CancelFunc) { cancel() })
	if res.Status != StatusCancelled {
		t.Fatalf("status = %s (%s), want cancelled", res.Status, res.Error)
	}
}

func TestTimeoutRealQEMUBuildLeavesNothing(t *testing.T) {
	// env.yaml says timeout: 25s; the machine reaches the SSH wait well before.
	res := stopMidway(t, "stuck-timeout", func(context.CancelFunc) {})
	if res.Status != StatusTimedOut {
		t.Fatalf("status = %s (%s), want timed_out", res.Status, res.Error)
	}
	if !strings.Contains(res.Error, "timed out after 25s") {
		t.Errorf("error = %q", res.Error)
	}
}

func TestBuildUnknownImageIsAnError(t *testing.T) {
	cat := testRepo(t)
	r, _ := testRunner(t, nil)
	_, err := r.Build(context.Background(), cat, Request{Image: "nope", OutDir: t.TempDir()}, nil)
	if err == nil || !strings.Contains(err.Error(), "no such image") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewRejectsBadAccelerator(t *testing.T) {
	_, err := New(Config{Packer: "/bin/true", WorkDir: t.TempDir(), CacheDir: t.TempDir(), Accelerator: "hvf"})
	if err == nil || !strings.Contains(err.Error(), "hvf") {
		t.Fatalf("err = %v", err)
	}
}
