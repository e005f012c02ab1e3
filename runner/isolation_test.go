package runner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagebot/imagebot/runner/catalog"
	"github.com/imagebot/imagebot/runner/redact"
	"github.com/imagebot/imagebot/runner/testenv"
)

// botSecrets are what `imagebot serve` holds in its environment.
var botSecrets = map[string]string{
	"IMAGEBOT_GITLAB_TOKEN":          "glpat-Forge7oken-31337",
	"IMAGEBOT_GITLAB_WEBHOOK_SECRET": "whsec-Hook5ecret-4242",
	"IMAGEBOT_GITHUB_TOKEN":          "ghp_GithubT0ken-9001",
	"IMAGEBOT_S3_ACCESS_KEY":         "AKIAS3ACCESSKEY77",
	"IMAGEBOT_S3_SECRET_KEY":         "s3Secret/Key+Value-555",
	"IMAGEBOT_DATABASE_URL":          "postgres://imagebot:DbPassw0rd-818@127.0.0.1:5432/imagebot",
}

// envdumpRepo copies testdata/envdump with probe_paths set in env.yaml.
func envdumpRepo(t *testing.T, probes ...string) *catalog.Catalog {
	t.Helper()
	return envdumpRepoDelay(t, "0", probes...)
}

// envdumpRepoDelay is envdumpRepo whose provisioner waits delay seconds
// before probing.
func envdumpRepoDelay(t *testing.T, delay string, probes ...string) *catalog.Catalog {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS("testdata/envdump")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dst, "images/envdump")
	os.Chmod(filepath.Join(p, "provisioner.sh"), 0o755)
	vars, _ := json.Marshal(strings.Join(probes, " "))
	f, err := os.OpenFile(filepath.Join(p, "env.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("variables:\n  probe_paths: " + string(vars) + "\n  probe_delay: \"" + delay + "\"\n")
	f.Close()
	cat, diags := catalog.Load(dst)
	if diags.HasErrors() {
		t.Fatalf("envdump catalog: %v", diags)
	}
	return cat
}

// leakForms are the forms of a secret the envdump template prints.
func leakForms(s string) []string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.StdEncoding.EncodeToString([]byte(s + "\n")), string(b)}
}

// TestRealBuildReadingTheWholeEnvironmentLeaksNoSecret runs a real Packer
// build whose template reads imagebot's secrets with env() and whose
// provisioner prints its whole environment raw, base64 and reversed: none
// of the configured secrets (nor the database password) is in the log, the
// events or the result. The sensitive variable the template declares is
// the one secret that reaches it, as PKR_VAR_api_token, and stays masked.
func TestRealBuildReadingTheWholeEnvironmentLeaksNoSecret(t *testing.T) {
	for k, v := range botSecrets {
		t.Setenv(k, v)
	}
	const sensitive = "Sensitive-ApiT0ken-2718"
	t.Setenv("PKR_VAR_api_token", sensitive)
	t.Setenv("PKR_VAR_not_sensitive", "Operator-Value-1618") // declared, not sensitive: not passed
	cat := envdumpRepo(t)
	r, cfg := testRunner(t, func(c *Config) {
		c.Secrets = map[string]string{}
		for k, v := range botSecrets {
			c.Secrets[k] = v
		}
	})
	var evs events
	out := t.TempDir()
	res, err := r.Build(context.Background(), cat, Request{Image: "envdump", OutDir: out}, evs.add)
	if err != nil {
		t.Fatal(err)
	}
	logData, err := os.ReadFile(filepath.Join(out, "build.log"))
	if err != nil {
		t.Fatal(err)
	}
	evData, _ := json.Marshal(evs.list())
	resData, _ := json.Marshal(res)
	all := []string{sensitive, "DbPassw0rd-818", "Operator-Value-1618"}
	for _, v := range botSecrets {
		all = append(all, v)
	}
	for _, secret := range all {
		for _, form := range leakForms(secret) {
			for what, data := range map[string]string{"log": string(logData), "events": string(evData), "result": string(resData)} {
				if strings.Contains(data, form) {
					t.Errorf("%s holds %q (a form of a secret)", what, form)
				}
			}
		}
	}
	// The template did run and read its environment: the test is not vacuous.
	log := string(logData)
	for _, want := range []string{"template: |||||", "path=/", "HOME=" + filepath.Join(cfg.WorkDir), "PKR_VAR_api_token=", "not-sensitive: unset", "envdump done"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "IMAGEBOT_") {
		t.Errorf("an IMAGEBOT_ variable reached the build:\n%s", log)
	}
}

// TestBuildUserCannotReachTheBotOrOtherBuilds runs a real Packer build as
// an unprivileged build user (runner build_user): it runs with that uid,
// and cannot read the bot's data directory, another build's outputs or
// the list of working directories. Tests run as root here.
func TestBuildUserCannotReachTheBotOrOtherBuilds(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root, to run builds as another user")
	}
	name := ensureBuildUser(t)
	uid, _ := exec.Command("id", "-u", name).Output()
	gid, _ := exec.Command("id", "-g", name).Output()

	// The bot's data directory: its database beside the checkouts.
	base := t.TempDir()
	passable(base)
	dataDir := filepath.Join(base, "data")
	os.MkdirAll(dataDir, 0o700)
	db := filepath.Join(dataDir, "imagebot.db")
	os.WriteFile(db, []byte("DATABASE"), 0o644)
	otherOut := filepath.Join(base, "out", "other-build")
	os.MkdirAll(otherOut, 0o750)
	os.WriteFile(filepath.Join(otherOut, "build.log"), []byte("another build's log"), 0o644)

	for k, v := range botSecrets {
		t.Setenv(k, v)
	}
	t.Setenv("PKR_VAR_api_token", "x-sensitive-value")
	cat := envdumpRepo(t, dataDir, db, filepath.Join(otherOut, "build.log"), filepath.Join(base, "work"))
	r, cfg := testRunner(t, func(c *Config) {
		c.BuildUser = name
		c.WorkDir = filepath.Join(base, "work")
		c.CacheDir = filepath.Join(base, "cache")
		os.Chmod(os.Getenv("TMPDIR"), 0o711)
	})
	out := filepath.Join(base, "out", "this-build")
	res, err := r.Build(context.Background(), cat, Request{Image: "envdump", OutDir: out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	logData, err := os.ReadFile(filepath.Join(out, "build.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(logData)
	wantID := "id: " + strings.TrimSpace(string(uid)) + ":" + strings.TrimSpace(string(gid))
	for _, want := range []string{
		wantID,
		"probe: denied " + dataDir + ":",
		"probe: denied " + db + ":",
		"probe: denied " + filepath.Join(otherOut, "build.log") + ":",
		"probe: denied " + cfg.WorkDir + ": ls: cannot open directory",
		"envdump done",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q (status %s: %s):\n%s", want, res.Status, res.Error, log)
		}
	}
	if strings.Contains(log, "probe: READ") {
		t.Errorf("the build read what it must not:\n%s", log)
	}
	if redact.New(values(botSecrets)...).Contains(log) {
		t.Errorf("a secret of imagebot's environment is in the log")
	}
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func TestBuildUserSpec(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root, to run builds as another user")
	}
	tests := []struct {
		spec     string
		uid, gid uint32
		err      string
	}{
		{"", 0, 0, ""},
		{"4242", 4242, 4242, ""},
		{"4242:4343", 4242, 4343, ""},
		{"0", 0, 0, "is root"},
		{"4242:0", 0, 0, "is root"},
		{"root", 0, 0, "is root"},
		{"no-such-user-here", 0, 0, `build_user "no-such-user-here"`},
		{"4242:x", 0, 0, "gid"},
	}
	for _, tc := range tests {
		c, err := buildUser(tc.spec)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err = %v, want %q", tc.spec, err, tc.err)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.spec, err)
		case tc.spec == "" && c != nil, tc.spec != "" && (c == nil || c.Uid != tc.uid || c.Gid != tc.gid):
			t.Errorf("%q: credential %+v", tc.spec, c)
		}
	}
}

// TestEnvSecretsIncludeURLsWithPasswords: the database URL is a secret
// though its variable's name does not say so.
func TestEnvSecretsIncludeURLsWithPasswords(t *testing.T) {
	tests := []struct {
		name, value string
		secret      bool
	}{
		{"IMAGEBOT_DATABASE_URL", "postgres://imagebot:Pw-4711@db/imagebot", true},
		{"SOME_DSN", "https://user:pass-word@host/", true},
		{"IMAGEBOT_PUBLIC_URL", "https://imagebot.example.com", false},
		{"HTTP_PROXY_URL", "http://user@proxy:3128", false},
		{"MY_TOKEN", "tok-12345", true},
	}
	for _, tc := range tests {
		t.Setenv(tc.name, tc.value)
	}
	got := map[string]bool{}
	for _, s := range envSecrets() {
		got[s] = true
	}
	for _, tc := range tests {
		if got[tc.value] != tc.secret {
			t.Errorf("%s=%s: secret %v, want %v", tc.name, tc.value, got[tc.value], tc.secret)
		}
	}
}

// ensureBuildUser makes the test's build user (tests run as root here).
func ensureBuildUser(t *testing.T) string {
	t.Helper()
	const name = "imagebot-test-build"
	if _, err := exec.Command("id", "-u", name).Output(); err != nil {
		if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
			t.Fatalf("useradd: %v: %s", err, out)
		}
	}
	return name
}

// passable lets others pass through a test's TempDir (and its parent),
// which are 0700: builds could not reach their work dir otherwise.
func passable(dir string) {
	os.Chmod(dir, 0o711)
	os.Chmod(filepath.Dir(dir), 0o711)
}

// TestBuildUIDsKeepConcurrentBuildsApart runs two real builds at the same
// time with build_uids: each runs as a uid of its own and can read its own
// HOME but not the other build's.
func TestBuildUIDsKeepConcurrentBuildsApart(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "root, to run builds as other users")
	}
	name := ensureBuildUser(t)
	base := t.TempDir()
	passable(base)
	work := filepath.Join(base, "work")
	home := func(id string) string { return filepath.Join(work, id, "box", "home") }
	cat := envdumpRepoDelay(t, "3", home("a-build"), home("b-build"))
	t.Setenv("PKR_VAR_api_token", "x-sensitive-value")
	r, _ := testRunner(t, func(c *Config) {
		c.BuildUser, c.BuildUIDs, c.Slots = name, "3900000-3900002", 2
		c.WorkDir, c.CacheDir = work, filepath.Join(base, "cache")
		os.Chmod(os.Getenv("TMPDIR"), 0o711)
	})
	logs := map[string]string{}
	done := make(chan string, 2)
	for _, id := range []string{"a-build", "b-build"} {
		go func() {
			out := filepath.Join(base, "out", id)
			if _, err := r.Build(context.Background(), cat, Request{Image: "envdump", BuildID: id, OutDir: out}, nil); err != nil {
				t.Error(err)
			}
			done <- id
		}()
	}
	for range 2 {
		id := <-done
		data, _ := os.ReadFile(filepath.Join(base, "out", id, "build.log"))
		logs[id] = string(data)
	}
	ids := map[string]bool{}
	for id, other := range map[string]string{"a-build": "b-build", "b-build": "a-build"} {
		log := logs[id]
		for _, want := range []string{"probe: READ " + home(id), "probe: denied " + home(other), "envdump done"} {
			if !strings.Contains(log, want) {
				t.Errorf("%s: log lacks %q:\n%s", id, want, log)
			}
		}
		// Denied for want of permission, not because the other build's
		// directory is gone or not there yet.
		if _, line, _ := strings.Cut(log, "probe: denied "+home(other)); !strings.Contains(strings.SplitN(line, "\n", 2)[0], "Permission denied") {
			t.Errorf("%s: the other build's HOME was not denied for permission: %q", id, strings.SplitN(line, "\n", 2)[0])
		}
		if i := strings.Index(log, "id: 39000"); i >= 0 {
			ids[log[i:i+11]] = true
		} else {
			t.Errorf("%s did not run as a uid of build_uids:\n%s", id, log)
		}
	}
	if len(ids) != 2 {
		t.Errorf("the builds ran as %v: want two different uids", ids)
	}
	if got := r.uids.free; len(got) != 3 {
		t.Errorf("uids not all returned: free %v", got)
	}
}
