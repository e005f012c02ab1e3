package deploy

import (
	"os"
	"path/filepath"
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
			for i := 0; i+1 < len(args); i += 2 {
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

func TestBuildHostImageHasQEMUAndPacker(t *testing.T) {
	data, err := os.ReadFile("docker/buildhost.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"qemu-system-x86", "qemu-utils", "github.com/hashicorp/packer@${PACKER_VERSION}", "/out/packer"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("buildhost.Dockerfile lacks %q", want)
		}
	}
}
