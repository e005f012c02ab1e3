package deploy

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// stage is the last build stage of a Dockerfile: what the image runs as.
type stage struct {
	from        string
	user        string
	healthcheck []string
	entrypoint  string
	env         []string
	cmdExecForm bool
}

func parseFinalStage(t *testing.T, path string) stage {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, w := range res.Warnings {
		t.Errorf("%s:%d: %s", path, w.Location.Start.Line, w.Short)
	}
	var st stage
	for _, n := range res.AST.Children {
		args := []string{}
		for a := n.Next; a != nil; a = a.Next {
			args = append(args, a.Value)
		}
		switch strings.ToLower(n.Value) {
		case "from":
			st = stage{from: args[0]}
		case "user":
			st.user = args[0]
		case "healthcheck":
			st.healthcheck = args
		case "entrypoint":
			st.entrypoint = strings.Join(args, " ")
			st.cmdExecForm = n.Attributes["json"]
		case "env":
			// The parser gives each pair as name, value, separator.
			for i := 0; i+1 < len(args); i += 3 {
				st.env = append(st.env, args[i])
			}
		}
	}
	return st
}

func TestDockerfilesRunNonRootWithAHealthCheck(t *testing.T) {
	for _, tc := range []struct {
		file, entrypoint, healthPath string
	}{
		{"docker/serve.Dockerfile", "/usr/local/bin/imagebot", "/healthz"},
		{"docker/buildhost.Dockerfile", "/usr/local/bin/imagebot", "/healthz"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			st := parseFinalStage(t, tc.file)
			if st.from == "" || strings.HasSuffix(st.from, ":latest") || !strings.Contains(st.from, ":") {
				t.Errorf("final FROM %q: want a pinned tag", st.from)
			}
			user, _, _ := strings.Cut(st.user, ":")
			if user == "" || user == "root" || user == "0" {
				t.Errorf("USER %q: the image must not run as root", st.user)
			}
			if len(st.healthcheck) == 0 || st.healthcheck[0] == "NONE" {
				t.Errorf("no HEALTHCHECK in the final stage")
			} else if !strings.Contains(strings.Join(st.healthcheck, " "), tc.healthPath) {
				t.Errorf("HEALTHCHECK %q does not ask %s", st.healthcheck, tc.healthPath)
			}
			if st.entrypoint != tc.entrypoint || !st.cmdExecForm {
				t.Errorf("ENTRYPOINT %q (exec form %v): want [%q]", st.entrypoint, st.cmdExecForm, tc.entrypoint)
			}
			for _, k := range st.env {
				if up := strings.ToUpper(k); strings.Contains(up, "TOKEN") || strings.Contains(up, "SECRET") || strings.Contains(up, "PASSWORD") {
					t.Errorf("ENV %s: secrets must not be baked into the image", k)
				}
			}
		})
	}
}

// The build host image runs the Packer and plugins CI tests with: its build
// stage runs deploy/install-tools.sh --packer-only, whose pins are the
// brief's (Packer v1.14.3; plugins qemu, vsphere, ansible, amazon), and the
// final stage points PACKER_PLUGIN_PATH at the plugins it copied.
func TestBuildHostImageHasQEMUPackerAndPlugins(t *testing.T) {
	data, err := os.ReadFile("docker/buildhost.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	for _, want := range []string{"qemu-system-x86", "qemu-utils", "ansible",
		"RUN deploy/install-tools.sh --no-apt --packer-only",
		"COPY --from=build /out/packer-plugins /usr/local/share/packer-plugins",
		"PACKER_PLUGIN_PATH=/usr/local/share/packer-plugins"} {
		if !strings.Contains(df, want) {
			t.Errorf("buildhost.Dockerfile lacks %q", want)
		}
	}
	if strings.Contains(df, "1.9.4") {
		t.Error("buildhost.Dockerfile still names Packer 1.9.4")
	}
	st := parseFinalStage(t, "docker/buildhost.Dockerfile")
	if !slices.Contains(st.env, "PACKER_PLUGIN_PATH") {
		t.Errorf("final stage ENV %v lacks PACKER_PLUGIN_PATH", st.env)
	}
	version, plugins := installToolsPins(t)
	if version != "v1.14.3" {
		t.Errorf("install-tools.sh pins Packer %s, want v1.14.3", version)
	}
	if want := []string{"qemu=v1.0.9", "vsphere=v1.4.2", "ansible=v1.1.2", "amazon=v1.3.4"}; !slices.Equal(plugins, want) {
		t.Errorf("install-tools.sh pins plugins %v, want %v", plugins, want)
	}
}

// installToolsPins reads PACKER_VERSION's default and PACKER_PLUGINS.
func installToolsPins(t *testing.T) (string, []string) {
	data, err := os.ReadFile("install-tools.sh")
	if err != nil {
		t.Fatal(err)
	}
	var version string
	var plugins []string
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, `PACKER_VERSION="${PACKER_VERSION:-`); ok {
			version, _, _ = strings.Cut(v, "}")
		}
		if v, ok := strings.CutPrefix(line, "PACKER_PLUGINS=("); ok {
			v, _, _ = strings.Cut(v, ")")
			plugins = strings.Fields(v)
		}
	}
	return version, plugins
}

// TestPackerOnlyInstallsWhatTheImageCopies runs the build stage's command,
// deploy/install-tools.sh --no-apt --packer-only, in a copy of the
// repository's layout whose .tools holds the Packer and plugins CI built (so
// it builds nothing): it must stop after Packer and the plugins, and the
// plugin directory the image copies must hold exactly the pinned plugins.
func TestPackerOnlyInstallsWhatTheImageCopies(t *testing.T) {
	tools, err := filepath.Abs("../.tools")
	if err != nil {
		t.Fatal(err)
	}
	version, plugins := installToolsPins(t)
	stamp, err := os.ReadFile(filepath.Join(tools, "bin", ".packer.version"))
	if err != nil || strings.TrimSpace(string(stamp)) != version {
		if os.Getenv("IMAGEBOT_REQUIRE_TOOLS") == "1" {
			t.Fatalf("Packer %s is not in %s (run deploy/install-tools.sh): %v", version, tools, err)
		}
		t.Skipf("Packer %s is not in %s (run deploy/install-tools.sh)", version, tools)
	}
	root := t.TempDir()
	bin := filepath.Join(root, ".tools", "bin")
	for _, d := range []string{filepath.Join(root, "deploy"), bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile("install-tools.sh")
	if err != nil {
		t.Fatal(err)
	}
	link := func(old, new string) {
		if err := os.Symlink(old, new); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "deploy", "install-tools.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	link(filepath.Join(tools, "bin", "packer"), filepath.Join(bin, "packer"))
	link(filepath.Join(tools, "bin", ".packer.version"), filepath.Join(bin, ".packer.version"))
	// Packer does not walk into a symlinked directory: mirror the tree,
	// linking the files.
	src := filepath.Join(tools, "packer-plugins")
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(root, ".tools", "packer-plugins", rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		return os.Symlink(p, dst)
	})
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(filepath.Join(root, "deploy", "install-tools.sh"), "--no-apt", "--packer-only")
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install-tools.sh --packer-only: %v\n%s", err, out)
	}
	if want := "done (--packer-only): Packer " + version; !strings.Contains(string(out), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
	left, _ := os.ReadDir(bin)
	for _, e := range left {
		if strings.HasPrefix(e.Name(), "packer-1") || strings.Contains(e.Name(), "minio") || strings.Contains(e.Name(), "cosign") {
			t.Errorf("--packer-only built %s", e.Name())
		}
	}
	cmd = exec.Command(filepath.Join(bin, "packer"), "plugins", "installed")
	cmd.Env = append(os.Environ(), "PACKER_PLUGIN_PATH="+filepath.Join(root, ".tools", "packer-plugins"), "CHECKPOINT_DISABLE=1")
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("packer plugins installed: %v", err)
	}
	for _, p := range plugins {
		name, v, _ := strings.Cut(p, "=")
		if want := "packer-plugin-" + name + "_" + v + "_"; !strings.Contains(string(out), want) {
			t.Errorf("plugin directory lacks %s:\n%s", want, out)
		}
	}
}
