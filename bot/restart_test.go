package bot_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/imagebot/imagebot/bot"
	"github.com/imagebot/imagebot/bot/forge/gitlab/gitlabtest"
	"github.com/imagebot/imagebot/runner/testenv"
)

// serveProc is the real imagebot binary running `imagebot serve`.
type serveProc struct {
	cmd *exec.Cmd
	url string
	log *os.File
}

func buildImagebot(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imagebot")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/imagebot/imagebot/cmd/imagebot").CombinedOutput()
	if err != nil {
		t.Fatalf("go build imagebot: %v: %s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startServe(t *testing.T, bin, dir, addr string, env []string) *serveProc {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(dir, "serve.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--listen", addr)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, url: "http://" + addr, log: logf}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		logf.Close()
	})
	waitFor(t, "imagebot serve to be ready", time.Minute, func() bool {
		resp, err := http.Get(p.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return p
}

func (p *serveProc) builds(t *testing.T) map[string]bot.Build {
	t.Helper()
	resp, err := http.Get(p.url + "/api/builds")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var list []bot.Build
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	out := map[string]bot.Build{}
	for _, b := range list {
		out[b.Image] = b
	}
	return out
}

// childGroups returns the process groups of pid's children (the runner
// starts Packer in a group of its own).
func childGroups(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n))
		if err != nil {
			continue
		}
		f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
		if len(f) > 2 && f[1] == strconv.Itoa(pid) {
			if g, err := strconv.Atoi(f[2]); err == nil {
				out = append(out, g)
			}
		}
	}
	return out
}

func TestSIGKILLWithBuildsQueuedAndRunningLosesNothingAndReRunsTheInterrupted(t *testing.T) {
	testRestartWithBuildsQueuedAndRunning(t, syscall.SIGKILL)
}

// SIGTERM (every systemd restart, every rolling update) stops the bot
// gracefully: the running build is stopped and goes back to the queue.
func TestSIGTERMWithBuildsQueuedAndRunningReQueuesTheRunningOneAndReRunsIt(t *testing.T) {
	testRestartWithBuildsQueuedAndRunning(t, syscall.SIGTERM)
}

func testRestartWithBuildsQueuedAndRunning(t *testing.T, sig syscall.Signal) {
	packerBin := testenv.Tool(t, "packer")
	testenv.Tool(t, "qemu-system-x86_64")
	gl := gitlabtest.New(t, apiToken)
	gl.SetAccess("alice", gitlabtest.Developer)
	repo := newImagesRepo(t)
	sha := repo.commit(t, "x")
	setMR(gl, "alice", sha)
	bin := buildImagebot(t)
	dir := t.TempDir()
	tmp, err := os.MkdirTemp("/tmp", "ibk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	addr := freePort(t)
	env := append(os.Environ(), "TMPDIR="+tmp, "IMAGEBOT_DATA_DIR="+filepath.Join(dir, "data"),
		"IMAGEBOT_GITLAB_TOKEN="+apiToken, "IMAGEBOT_GITLAB_WEBHOOK_SECRET="+webhookSecret,
		"IMAGEBOT_GITLAB_BASE_URL="+gl.URL, "IMAGEBOT_GITLAB_BOT_USER=imagebot",
		"IMAGEBOT_RUNNER_PACKER="+packerBin, "IMAGEBOT_RUNNER_ACCELERATOR=tcg",
		"IMAGEBOT_REPORT_MIN_EDIT_INTERVAL=300ms", "IMAGEBOT_QUEUE_BUILD_WORKERS=1")
	p := startServe(t, bin, dir, addr, env)
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(filepath.Join(dir, "serve.log"))
			t.Logf("builds: %+v\ncomment:\n%s\nserve.log:\n%s", p.builds(t), comment(t, gl), data)
		}
	})

	if code := send(t, p.url, webhookSecret, gitlabtest.NoteHook, "", note(t, repo, "alice", "/build slow tiny", sha)); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d", code)
	}
	waitFor(t, "slow running and tiny queued", 2*time.Minute, func() bool {
		bs := p.builds(t)
		return strings.Contains(bs["slow"].Step, "Waiting for shutdown") && bs["tiny"].Status == "queued"
	})
	groups := childGroups(p.cmd.Process.Pid)
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	exited := make(chan *os.ProcessState, 1)
	go func() { st, _ := p.cmd.Process.Wait(); exited <- st }()
	var st *os.ProcessState
	select {
	case st = <-exited:
	case <-time.After(time.Minute):
		t.Fatalf("imagebot did not exit within a minute of %v", sig)
	}
	if sig == syscall.SIGKILL {
		for _, g := range groups { // Packer and QEMU of the killed build: ours to stop
			_ = syscall.Kill(-g, syscall.SIGKILL)
		}
		t.Logf("killed imagebot (pid %d) and %d child process groups", p.cmd.Process.Pid, len(groups))
	} else {
		if st == nil || !st.Success() {
			t.Errorf("imagebot exited with %v after %v, want a clean exit", st, sig)
		}
		for _, g := range groups { // a graceful stop leaves no Packer or QEMU behind
			if err := syscall.Kill(-g, 0); err == nil {
				t.Errorf("process group %d of the stopped build still runs after %v", g, sig)
				_ = syscall.Kill(-g, syscall.SIGKILL)
			}
		}
	}

	p = startServe(t, bin, dir, addr, env)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("builds after restart: %+v", p.builds(t))
		}
	})
	waitFor(t, "both builds to succeed after the restart", 3*time.Minute, func() bool {
		bs := p.builds(t)
		return bs["slow"].Status == "succeeded" && bs["tiny"].Status == "succeeded"
	})
	bs := p.builds(t)
	if len(bs) != 2 {
		t.Errorf("%d builds after the restart, want 2", len(bs))
	}
	if !reRan(t, filepath.Join(dir, "serve.log"), "slow") {
		t.Errorf("serve.log has no second attempt of slow after the %v", sig)
	}
	if !strings.Contains(bs["slow"].Note, "interrupted") {
		t.Errorf("slow's note %q does not say it was interrupted and re-run", bs["slow"].Note)
	}
	waitFor(t, "the comment to end right", time.Minute, func() bool {
		c := comment(t, gl)
		return strings.Count(c, "✅") == 2 && strings.Contains(c, "interrupted, re-ran") &&
			gl.LastStatus(sha, "imagebot/slow").State == "success" && gl.LastStatus(sha, "imagebot/tiny").State == "success"
	})
}

// reRan reports whether the serve log shows a second attempt of image's build.
func reRan(t *testing.T, logPath, image string) bool {
	t.Helper()
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		var e struct {
			Image   string `json:"image"`
			Attempt int    `json:"attempt"`
			Message string `json:"message"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Image == image && e.Message == "build started" && e.Attempt >= 2 {
			return true
		}
	}
	return false
}
